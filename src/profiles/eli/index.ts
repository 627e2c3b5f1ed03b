/** Public entry point `evident/profiles/eli`: ELI-Sentinel json_c14n_v1, HALO chain, packets (docs/eli.md). */
export * from './c14n.ts';
export * from './halo.ts';
export * from './issue.ts';
export * from './sign.ts';
export * from './verify.ts';

/** Public entry point `evident/profiles/wcp`: WCP package hash, manifests, registry records (docs/wcp.md). */
export * from './manifest.ts';
export * from './package-hash.ts';
export * from './registry.ts';
export * from './scaffold.ts';
export * from './verify.ts';

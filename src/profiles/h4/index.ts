/** Public entry point `evident/profiles/h4`: HarmonyØ4 H4MK containers, engine sealing, attestations (docs/h4.md). */
export * from './attest.ts';
export * from './container.ts';
export * from './engines.ts';
export * from './formatb.ts';
export * from './parallel.ts';
export * from './sealing.ts';
export * from './verify.ts';

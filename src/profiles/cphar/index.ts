/** Public entry point `evident/profiles/cphar`: CPHAR seals, challenges, attestations (docs/cphar.md). */
export * from './device.ts';
export * from './messages.ts';
export * from './nonces.ts';
export * from './registry.ts';
export * from './stores.ts';
export * from './verify.ts';

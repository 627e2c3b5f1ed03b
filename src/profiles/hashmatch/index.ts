/** Public entry point `evident/profiles/hashmatch`: HashMatch manifests, hashes, receipts, seeds (docs/hashmatch.md). */
export * from './bundle.ts';
export * from './eventproof.ts';
export * from './files.ts';
export * from './hashes.ts';
export * from './keys.ts';
export * from './merkle.ts';
export * from './receipt.ts';
export * from './seeds.ts';
export * from './stable.ts';
export * from './verify.ts';

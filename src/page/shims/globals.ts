/** Globals the Node code on the verification paths expects (esbuild `inject` in scripts/build-page.mjs). */
export { process } from './process.ts';
export { Buffer } from './buffer.ts';

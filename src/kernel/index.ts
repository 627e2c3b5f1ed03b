/** Public entry point `evident/kernel`: canonical JSON, lossless parser, encodings, digests, keys, signatures, DSSE, in-toto, signed notes, trust store. No I/O. */
export * from './digest.ts';
export * from './dsse.ts';
export * from './encoding.ts';
export * from './errors.ts';
export * from './intoto.ts';
export * from './keys.ts';
export * from './note.ts';
export * from './sign.ts';
export * from './time.ts';
export * from './truststore.ts';
export * from './json/index.ts';

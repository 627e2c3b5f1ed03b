export * from './number.ts';
export * from './parse.ts';
export * from './canonical.ts';

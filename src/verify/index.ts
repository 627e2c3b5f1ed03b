/** Public entry point `evident/verify`: format auto-detection, the one report model and its human rendering. */
export * from './detect.ts';
export * from './report.ts';
export { renderHuman } from './render.ts';

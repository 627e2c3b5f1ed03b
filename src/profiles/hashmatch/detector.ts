import type { Detector } from '../../verify/detect.ts';

/** Format detectors of the hashmatch profile (most specific first). */
export const detectors: Detector[] = [];

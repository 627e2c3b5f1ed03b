import type { Detector } from '../../verify/detect.ts';

/** Format detectors of the eli profile (most specific first). */
export const detectors: Detector[] = [];

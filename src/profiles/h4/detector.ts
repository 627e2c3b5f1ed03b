import type { Detector } from '../../verify/detect.ts';

/** Format detectors of the h4 profile (most specific first). */
export const detectors: Detector[] = [];

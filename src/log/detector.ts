import type { Detector } from '../verify/detect.ts';

/** Detectors for transparency-log artifacts (tlog-proof, checkpoints). */
export const detectors: Detector[] = [];

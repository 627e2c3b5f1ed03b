import type { Detector } from './detect.ts';

/** Detectors for kernel-level artifacts: DSSE envelopes, signed notes. */
export const detectors: Detector[] = [];

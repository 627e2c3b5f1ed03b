/** Registration list of format detectors, most specific first. Each profile adds its own line here. */
import type { Detector } from './detect.ts';

export const detectors: Detector[] = [];

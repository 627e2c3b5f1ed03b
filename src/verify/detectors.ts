/** Registration list of format detectors, most specific first. Each area owns its own module below. */
import type { Detector } from './input.ts';
import { detectors as hashmatch } from '../profiles/hashmatch/detector.ts';
import { detectors as wcp } from '../profiles/wcp/detector.ts';
import { detectors as eli } from '../profiles/eli/detector.ts';
import { detectors as cphar } from '../profiles/cphar/detector.ts';
import { detectors as h4 } from '../profiles/h4/detector.ts';
import { detectors as log } from '../log/detector.ts';
import { detectors as kernel } from './kernel-detectors.ts';
import { receiptDetectors } from '../receipts/detector.ts';
import { STATEMENT_PROFILES } from '../profiles/statements.ts';
import { detectors as sigstore } from '../profiles/sigstore/detector.ts';

// the receipt verifier re-checks the predicates of the profiles' statements (src/receipts knows no profile)
const receipts = receiptDetectors(STATEMENT_PROFILES);

export const detectors: Detector[] = [...sigstore, ...receipts, ...hashmatch, ...wcp, ...eli, ...cphar, ...h4, ...log, ...kernel];

/** What the Sigstore routes (routes/sigstore.ts) and v2 receipt issuing (routes/receipts.ts) need from the service. */
import type { TsaStore } from '../tsa/store.ts';
import type { CaStore } from '../ca/store.ts';

export type IssuedReceiptFormat = 'evident.receipt/v1' | 'evident.receipt/v2';

export interface SigstoreServerOptions {
  /** The service TSA (keys/tsa): POST /v1/timestamp, and the timestamp of every v2 receipt. */
  tsa: TsaStore;
  /** When the log key started signing (RFC 3339): its validFor.start in the trusted root. */
  logValidFrom: string;
  /** What POST /v1/receipts issues: v2 (Sigstore-verifiable) or v1 (the log entry is the canonical envelope). */
  receiptFormat: IssuedReceiptFormat;
  /** The issuing CA and CT log (keys/ca): signer certificates of v2 receipts, the trusted root's CA and ctlog. */
  ca?: CaStore;
}

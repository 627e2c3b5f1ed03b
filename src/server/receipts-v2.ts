/**
 * Issuing and re-bundling `evident.receipt/v2` receipts in the service (routes/receipts.ts): the dsse 0.0.2 entry goes
 * to the log, the TSA timestamps the signature, the envelope and timestamp are kept in ReceiptV2Store; the
 * Sigstore bundle of a stored receipt is built from the same bytes.
 */
import type { ServerOptions } from './context.ts';
import type { DbHandle } from '../store/db.ts';
import { parseVkey } from '../kernel/note.ts';
import { issueReceiptV2, receiptV2At, RECEIPT_FORMAT_V2, type ReceiptV2, type ReceiptV2Log } from '../receipts/receipt-v2.ts';
import { toSigstoreBundle, type SigstoreBundleJson } from '../receipts/sigstore-export.ts';
import type { IssuerKey, ReceiptRequest } from '../receipts/receipt.ts';
import { ReceiptV2Store } from './receipt-v2-store.ts';
import type { KeyObject } from 'node:crypto';
import { signerIdentity } from '../ca/store.ts';
import { logBaseUrl } from '../receipts/trusted-root.ts';

export class ReceiptsV2 {
  private constructor(
    private readonly store: ReceiptV2Store,
    private readonly log: ReceiptV2Log,
    private readonly opts: ServerOptions,
  ) {}

  static async open(db: DbHandle, opts: ServerOptions): Promise<ReceiptsV2> {
    const log = opts.log;
    const v2log: ReceiptV2Log = {
      origin: log.origin,
      append: (d) => log.append(d),
      tlogProof: (i, s, o) => log.tlogProof(i, s, o),
      storage: log.storage,
      publicKey: parseVkey(opts.logVkey).publicKey,
    };
    return new ReceiptsV2(await ReceiptV2Store.open(db), v2log, opts);
  }

  /** True when POST /v1/receipts issues v2 receipts. */
  get issuing(): boolean {
    return this.opts.sigstore?.receiptFormat === RECEIPT_FORMAT_V2;
  }

  /** Sign, log, timestamp and store; the receipt's proof is against the checkpoint that first covered it. */
  async issue(key: IssuerKey, req: ReceiptRequest): Promise<ReceiptV2> {
    this.opts.sigstore?.tsa.refresh();
    const tsa = this.opts.sigstore?.tsa.active;
    const ca = this.opts.sigstore?.ca;
    const certificate = ca
      ? (pub: KeyObject) => ca.certificateFor(key.kid, pub, this.opts.keys.find((k) => k.kid === key.kid)?.createdAt ?? '', signerIdentity(logBaseUrl(this.log.origin), key.kid), (entry) => this.log.append(entry))
      : undefined;
    const { receipt } = await issueReceiptV2(this.log, key, req, { ...(tsa ? { timestamp: (sig: Uint8Array) => tsa.stamp(sig) } : {}), ...(certificate ? { certificate } : {}) });
    await this.store.put(receipt.id, receipt.envelope, receipt.rfc3161_timestamp);
    return receipt;
  }

  /** A stored v2 receipt with a proof against the checkpoint of `size` (default the latest); undefined if not v2. */
  async at(id: string, index: number, entry: Uint8Array, size?: number): Promise<ReceiptV2 | undefined> {
    const stored = await this.store.get(id);
    return stored ? receiptV2At(this.log, stored, entry, index, size) : undefined;
  }

  bundle(receipt: ReceiptV2): SigstoreBundleJson {
    return toSigstoreBundle(receipt);
  }
}

/** Trusted-key resolution for HashMatch receipts: pinned --key files and/or a --trust store; embedded keys never trusted. */
import type { KeyObject } from 'node:crypto';
import { loadPublicKey, loadTrustStore } from '../../store/keyfiles.ts';
import { TrustStore, type TrustEntry } from '../../kernel/truststore.ts';
import { samePublicKey, keyId } from '../../kernel/keys.ts';
import type { Report } from '../../verify/report.ts';
import { embeddedKey, verifyReceiptWith, type Receipt } from './receipt.ts';

export interface TrustedKeys {
  keys: KeyObject[];
  store?: TrustStore;
  /** false when no key was given or one failed to load (already recorded in the report). */
  ok: boolean;
  now?: Date;
}

export function loadTrusted(report: Report, opts: { keys?: string[]; trust?: string; now?: Date }): TrustedKeys {
  const out: TrustedKeys = { keys: [], ok: true, now: opts.now };
  for (const k of opts.keys ?? []) {
    try {
      out.keys.push(loadPublicKey(k));
    } catch (e) {
      out.ok = false;
      report.fail('key.load', 'key', (e as { code?: string }).code ?? 'KEY_INVALID', (e as Error).message);
    }
  }
  if (opts.trust) {
    try {
      out.store = loadTrustStore(opts.trust);
      for (const e of out.store.keys()) out.keys.push(out.store.resolveKeyUnchecked(e.kid));
    } catch (e) {
      out.ok = false;
      report.fail('key.trust', 'key', (e as { code?: string }).code ?? 'TRUST_STORE_INVALID', (e as Error).message);
    }
  }
  if (out.ok && out.keys.length === 0) {
    out.ok = false;
    report.fail('key', 'key', 'KEY_MISSING', 'no verification key: give --key PUBLIC_KEY or --trust STORE (the publicKey embedded in a receipt is never trusted)');
  }
  return out;
}

/**
 * Verify one receipt against the trusted keys and record the outcome under `id`:
 * verified by a trusted key → pass (+ trust-store policy); embedded key trusted but bad signature → signature (3);
 * embedded key not trusted → key (4).
 */
export function checkReceiptSignature(report: Report, id: string, r: Receipt, tk: TrustedKeys): boolean {
  const emb = embeddedKey(r);
  for (const k of tk.keys) {
    if (verifyReceiptWith(r, k)) {
      report.pass(id, `signature verifies with trusted key ${kidOf(k)}`);
      if (!emb || !samePublicKey(emb, k)) report.warn(`${id}.publicKey`, 'EMBEDDED_KEY_MISMATCH', 'embedded publicKey differs from the trusted key that verified the signature');
      if (tk.store) policy(report, id, tk.store.findByKey(k, tk.now), tk.now);
      return true;
    }
  }
  if (emb && tk.keys.some((k) => samePublicKey(k, emb))) {
    report.fail(id, 'signature', 'SIGNATURE_INVALID', 'signature does not verify with the trusted key');
  } else {
    report.fail(id, 'key', 'KEY_UNTRUSTED', 'receipt is signed by a key that is neither pinned (--key) nor in the trust store', {
      actual: emb ? keyId(emb) : '(unparsable publicKey)',
    });
  }
  return false;
}

const KID_CACHE = new WeakMap<KeyObject, string>();
function kidOf(k: KeyObject): string {
  let v = KID_CACHE.get(k);
  if (v === undefined) KID_CACHE.set(k, (v = keyId(k)));
  return v;
}

function policy(report: Report, id: string, entry: TrustEntry | undefined, at: Date | undefined): void {
  if (!entry) return;
  const st = TrustStore.status(entry, at);
  if (st === 'valid') return;
  const code = st === 'revoked' ? 'KEY_REVOKED' : st === 'expired' ? 'KEY_EXPIRED' : 'KEY_NOT_YET_VALID';
  report.fail(`${id}.policy`, 'policy', code, `key ${entry.kid} is ${st.replace(/-/g, ' ')} in the trust store`);
}

/**
 * Detectors for kernel-level artifacts: DSSE envelopes (`dsse`) and C2SP signed notes (`signed-note`).
 *
 * Order of checks: parse (input, exit 10) → key (none given / not loadable / no trusted key: exit 4) →
 * signature (exit 3) → policy (trust-store revocation/expiry of the verifying key: exit 1).
 * Keys come only from --key (pinned) and --trust (trust store); a key carried by the artifact is never trusted
 * (DSSE `keyid` and note key names/IDs are hints only).
 */
import type { KeyObject } from 'node:crypto';
import { Report, type FailureCategory } from './report.ts';
import type { Detector, VerifyInput, VerifyOptions } from './input.ts';
import { checkDsse, looksLikeDsse, parseDsse, IN_TOTO_PAYLOAD_TYPE, type ParsedDsse } from '../kernel/dsse.ts';
import { looksLikeSignedNote, looksLikeVkey, parseNote, openNote, parseVkey, noteVerifier, formatKeyHash, NOTE_SIG_ED25519, NOTE_SIG_COSIGNATURE_V1, type NoteVerifier, type ParsedNote } from '../kernel/note.ts';
import { algOfKey, keyId, KEY_ID_STYLES } from '../kernel/keys.ts';
import { TrustStore, type TrustEntry } from '../kernel/truststore.ts';
import { loadPublicKey, loadTrustStore, readKeyText } from '../store/keyfiles.ts';
import { parseJson, toPlain } from '../kernel/json/index.ts';
import { matchArtifacts, statementProblems, subjectsOf, type Subject } from '../kernel/intoto.ts';

const MAX_STORE_CANDIDATES = 256;

interface KeySources {
  pinned: Array<{ source: string; key: KeyObject }>;
  vkeys: NoteVerifier[];
  store?: TrustStore;
  ok: boolean;
}

function errCode(e: unknown, fallback: string): string {
  return (e as { code?: string })?.code ?? fallback;
}


/** Load --key / --trust (and, for notes, vkeys). Failures are recorded as key-category checks. */
function loadKeys(report: Report, opts: VerifyOptions, allowVkeys: boolean): KeySources {
  const out: KeySources = { pinned: [], vkeys: [], ok: true };
  const specs = [...(opts.keys ?? [])];
  if (allowVkeys && typeof opts.logKey === 'string') specs.push(opts.logKey);
  for (const spec of specs) {
    try {
      if (allowVkeys && looksLikeVkey(spec.trim())) {
        out.vkeys.push(parseVkey(spec));
        continue;
      }
      if (allowVkeys && !spec.includes('-----BEGIN') && !spec.trimStart().startsWith('{')) {
        const text = readKeyText(spec);
        if (looksLikeVkey(text.trim())) {
          out.vkeys.push(parseVkey(text));
          continue;
        }
      }
      out.pinned.push({ source: spec, key: loadPublicKey(spec) });
    } catch (e) {
      out.ok = false;
      report.fail('key.load', 'key', errCode(e, 'KEY_INVALID'), (e as Error).message);
    }
  }
  if (opts.trust) {
    try {
      out.store = loadTrustStore(opts.trust);
    } catch (e) {
      out.ok = false;
      report.fail('key.trust', 'key', errCode(e, 'TRUST_STORE_INVALID'), (e as Error).message);
    }
  }
  if (out.ok && out.pinned.length === 0 && out.vkeys.length === 0 && !out.store) {
    out.ok = false;
    report.fail('key', 'key', 'KEY_MISSING', 'no verification key: give --key PUBLIC_KEY or --trust STORE (keys inside the artifact are never trusted)');
  }
  return out;
}

/** Policy check of the trust store entry holding a key that verified (revoked / expired / not yet valid). */
function policyFor(report: Report, id: string, entry: TrustEntry | undefined, at: Date | undefined): void {
  if (!entry) return;
  const st = TrustStore.status(entry, at);
  if (st === 'valid') {
    report.pass(`${id}.policy`, `key ${entry.kid} is trusted${entry.label ? ` (${entry.label})` : ''}`);
    return;
  }
  const code = st === 'revoked' ? 'KEY_REVOKED' : st === 'expired' ? 'KEY_EXPIRED' : 'KEY_NOT_YET_VALID';
  report.fail(`${id}.policy`, 'policy', code, `key ${entry.kid} is ${st.replace(/-/g, ' ')} in the trust store`);
}

function storeCandidates(store: TrustStore, keyid: string | undefined): KeyObject[] {
  const entries = store.keys();
  const pick = (e: TrustEntry) => store.resolveKeyUnchecked(e.kid);
  if (keyid === undefined) return entries.slice(0, MAX_STORE_CANDIDATES).map(pick);
  const direct = entries.filter((e) => e.kid === keyid);
  if (direct.length) return direct.map(pick);
  const out: KeyObject[] = [];
  for (const e of entries) {
    const k = pick(e);
    if (KEY_ID_STYLES.some((s) => keyId(k, s) === keyid)) out.push(k);
  }
  return out;
}

function verifyDsseReport(input: VerifyInput, opts: VerifyOptions): Report {
  const report = new Report('dsse', opts.mode);
  let env: ParsedDsse;
  try {
    env = parseDsse(input.json);
  } catch (e) {
    const code = errCode(e, 'DSSE_INVALID');
    const cat: FailureCategory = code === 'SIGNATURE_MISSING' ? 'signature' : 'input';
    return report.fail('envelope', cat, code, (e as Error).message);
  }
  report.pass('envelope', `DSSE envelope, ${env.signatures.length} signature(s), payload ${env.payload.length} bytes`);
  const keys = loadKeys(report, opts, false);
  if (!keys.ok) return report;
  const at = opts.now;
  const v = checkDsse(input.json, (keyid) => {
    const c = keys.pinned.map((p) => p.key);
    if (keys.store) c.push(...storeCandidates(keys.store, keyid));
    return c;
  });
  const verified = v.results.filter((r) => r.status === 'verified');
  if (verified.length === 0) {
    if (v.results.every((r) => r.status === 'no-key')) {
      report.fail('signature', 'key', 'KEY_UNTRUSTED', 'no signature names a key in the trust store (keyid unknown)', {
        actual: v.results.map((r) => r.keyid ?? '(no keyid)').join(', '),
      });
    } else {
      report.fail('signature', 'signature', 'SIGNATURE_INVALID', `none of the ${v.results.length} signature(s) verifies with the given key(s)`);
    }
    return report;
  }
  for (const r of v.results) {
    const id = `signature[${r.index}]`;
    if (r.status === 'verified') {
      report.pass(id, `signature verifies (${algOfKey(r.key!)}, key ${keyId(r.key!)})`, r.keyid !== undefined ? { actual: r.keyid } : undefined);
      policyFor(report, id, keys.store?.findByKey(r.key!, at), at);
    } else {
      report.warn(id, r.status === 'bad' ? 'SIGNATURE_INVALID' : 'KEY_UNTRUSTED', `additional signature not verified (${r.status === 'bad' ? 'does not verify' : 'unknown key'})`);
    }
  }
  report.pass('payloadType', `payloadType ${JSON.stringify(v.payloadType)}`, { actual: v.payloadType });
  if (v.payloadType === IN_TOTO_PAYLOAD_TYPE) inTotoChecks(report, v.payload, opts.artifacts);
  else if (opts.artifacts?.length) report.fail('artifact', 'input', 'ARTIFACT_NOT_CHECKED', `payload type ${JSON.stringify(v.payloadType)} has no subjects to check --artifact files against`);
  return report;
}

function inTotoChecks(report: Report, payload: Uint8Array, artifacts: VerifyOptions['artifacts']): void {
  let st: unknown;
  try {
    st = toPlain(parseJson(payload, { maxDepth: 64 }));
  } catch (e) {
    report.fail('statement', 'input', errCode(e, 'JSON_SYNTAX'), `in-toto payload is not valid JSON: ${(e as Error).message}`);
    return;
  }
  // the same Statement v1 rules as the issuer (POST /v1/receipts refuses what fails here)
  const problems = statementProblems(st);
  if (problems.length) {
    for (const p of problems) report.fail(p.path ? `statement.${p.path}` : 'statement', 'input', 'INTOTO_INVALID', p.message);
    return;
  }
  const o = st as Record<string, unknown>;
  report.pass('statement', `in-toto statement ${String(o._type)}, predicate ${String(o.predicateType)}`, { actual: String(o._type) });
  const subjects = subjectsOf(o);
  subjects.slice(0, 1000).forEach((s, i) => {
    const d = Object.entries(s.digest).map(([alg, val]) => `${alg}:${val}`).join(' ');
    report.pass(`subject[${i}]`, `${s.name ?? '(unnamed)'} ${d}`, { actual: d });
  });
  artifactChecks(report, subjects, artifacts);
}

/** `--artifact FILE` against statement subjects: every file must match a subject (integrity, exit 2). */
export function artifactChecks(report: Report, subjects: Subject[], artifacts: VerifyOptions['artifacts']): void {
  if (!artifacts?.length) return;
  matchArtifacts(subjects, artifacts).forEach((m, i) => {
    if (m.ok) report.pass(`artifact[${i}]`, m.message, { actual: m.actual });
    else report.fail(`artifact[${i}]`, 'integrity', 'ARTIFACT_MISMATCH', m.message, { actual: m.actual });
  });
}

function verifyNoteReport(input: VerifyInput, opts: VerifyOptions): Report {
  const report = new Report('signed-note', opts.mode);
  const bytes = input.bytes ?? new Uint8Array();
  let note: ParsedNote;
  try {
    note = parseNote(bytes);
  } catch (e) {
    return report.fail('note', 'input', errCode(e, 'NOTE_INVALID'), (e as Error).message);
  }
  report.pass('note', `signed note, ${note.signatures.length} signature line(s), text ${note.textBytes.length} bytes`);
  const keys = loadKeys(report, opts, true);
  if (!keys.ok) return report;
  // Verifiers: vkeys as given; PEM/JWK/trust-store Ed25519 keys under every name that appears in the note
  // (the key ID commits to the name, so only the matching name/type can verify).
  const verifiers: NoteVerifier[] = [...keys.vkeys];
  const entryOf = new Map<NoteVerifier, TrustEntry | undefined>();
  const names = [...new Set(note.signatures.map((s) => s.name))];
  const addKey = (k: KeyObject, entry: TrustEntry | undefined) => {
    if (k.asymmetricKeyType !== 'ed25519') return;
    for (const n of names) {
      for (const t of [NOTE_SIG_ED25519, NOTE_SIG_COSIGNATURE_V1] as const) {
        const v = noteVerifier(n, k, t);
        if (note.signatures.some((s) => s.name === n && s.keyHash === v.keyHash)) {
          verifiers.push(v);
          entryOf.set(v, entry);
        }
      }
    }
  };
  for (const p of keys.pinned) addKey(p.key, undefined);
  if (keys.store) for (const e of keys.store.keys()) addKey(keys.store.resolveKeyUnchecked(e.kid), e);
  if (keys.pinned.length > 0 && keys.vkeys.length === 0 && !keys.store && !keys.pinned.some((p) => p.key.asymmetricKeyType === 'ed25519')) {
    report.fail('key', 'key', 'KEY_UNSUPPORTED', 'signed notes need Ed25519 keys (PEM, JWK or vkey)');
    return report;
  }
  try {
    const o = openNote(bytes, verifiers);
    for (const s of o.verified) {
      const id = `signature[${s.name}]`;
      const ts = s.timestamp !== undefined ? `, cosigned at ${new Date(Number(s.timestamp) * 1000).toISOString()}` : '';
      report.pass(id, `${s.type === NOTE_SIG_COSIGNATURE_V1 ? 'cosignature/v1' : 'Ed25519'} signature by ${s.name}+${formatKeyHash(s.keyHash)} verifies${ts}`);
      const v = verifiers.find((x) => x.name === s.name && x.keyHash === s.keyHash);
      if (v) policyFor(report, id, entryOf.get(v), opts.now);
    }
    for (const u of o.unverified) report.warn(`signature[${u.name}]`, 'KEY_UNTRUSTED', `signature by unknown key ${u.name}+${formatKeyHash(u.keyHash)} ignored`);
  } catch (e) {
    const code = errCode(e, 'SIGNATURE_INVALID');
    const cat: FailureCategory = code === 'NOTE_INVALID' ? 'input' : code === 'SIGNATURE_INVALID' ? 'signature' : 'key';
    report.fail('signature', cat, code, (e as Error).message);
  }
  return report;
}

export const dsseDetector: Detector = {
  format: 'dsse',
  detect: (input) => !input.isDirectory && looksLikeDsse(input.json),
  verify: async (input, opts) => verifyDsseReport(input, opts),
};

export const signedNoteDetector: Detector = {
  format: 'signed-note',
  detect: (input) => !input.isDirectory && input.json === undefined && !!input.bytes && looksLikeSignedNote(input.bytes),
  verify: async (input, opts) => verifyNoteReport(input, opts),
};

/** Detectors for kernel-level artifacts: DSSE envelopes, signed notes. */
export const detectors: Detector[] = [dsseDetector, signedNoteDetector];

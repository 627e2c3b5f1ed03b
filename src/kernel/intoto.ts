/**
 * in-toto Statement v1 rules, in one place for both sides: the issuer (`POST /v1/receipts`, src/receipts/receipt.ts)
 * refuses what the verifiers (`evident verify`, `POST /v1/verify`, src/verify/kernel-detectors.ts) reject, and
 * subjects are matched against artifact files the way cosign's verify-blob-attestation does.
 *
 * A Statement (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md):
 *   - `_type` is exactly `https://in-toto.io/Statement/v1` (the v0.1 type, still emitted by older tools, is read
 *     too; nothing else);
 *   - `subject` is a non-empty array of resource descriptors, each an object with a non-empty `digest` map of
 *     algorithm → lowercase hex (well-known algorithms at their exact length) and an optional string `name`;
 *   - `predicateType` is a non-empty string (a URI);
 *   - `predicate`, when present, is an object.
 * No I/O.
 */
import { createHash } from './crypto/index.ts';
import { EvidentError } from './errors.ts';

export const STATEMENT_V1_TYPE = 'https://in-toto.io/Statement/v1';
/** Statement types accepted: v1, and v0.1 (same shape; older producers). */
export const STATEMENT_TYPES: readonly string[] = [STATEMENT_V1_TYPE, 'https://in-toto.io/Statement/v0.1'];

/** Lowercase-hex lengths of the well-known in-toto digest algorithms. */
export const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = {
  sha256: 64, sha384: 96, sha512: 128, sha1: 40, sha224: 56, sha512_224: 56, sha512_256: 64, sha3_224: 56, sha3_256: 64, sha3_384: 96, sha3_512: 128,
  gitCommit: 40, gitTree: 40, gitBlob: 40,
};

/** Algorithms `--artifact` files are hashed with (node:crypto names equal the in-toto names). */
const ARTIFACT_ALGS = ['sha256', 'sha384', 'sha512'] as const;

const MAX_SUBJECTS = 10_000;

export interface Subject {
  name?: string;
  digest: Record<string, string>;
}

export interface StatementProblem {
  /** JSON path of the offending member, e.g. `subject[2].digest.sha256`. */
  path: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every way `st` breaks the Statement rules (empty when it is a valid Statement). Bounded: stops at 20 problems. */
export function statementProblems(st: unknown): StatementProblem[] {
  const out: StatementProblem[] = [];
  if (!isObject(st)) return [{ path: '', message: 'statement must be a JSON object' }];
  if (typeof st._type !== 'string' || !STATEMENT_TYPES.includes(st._type)) {
    out.push({ path: '_type', message: `statement._type must be ${STATEMENT_V1_TYPE}${typeof st._type === 'string' ? ` (not ${JSON.stringify(st._type.slice(0, 100))})` : ''}` });
  }
  if (typeof st.predicateType !== 'string' || st.predicateType.length === 0) out.push({ path: 'predicateType', message: 'statement.predicateType must be a non-empty string' });
  if (st.predicate !== undefined && !isObject(st.predicate)) out.push({ path: 'predicate', message: 'statement.predicate, when present, must be an object' });
  if (!Array.isArray(st.subject) || st.subject.length === 0) {
    out.push({ path: 'subject', message: 'statement.subject must be a non-empty array' });
    return out;
  }
  if (st.subject.length > MAX_SUBJECTS) {
    out.push({ path: 'subject', message: `statement.subject has more than ${MAX_SUBJECTS} entries` });
    return out;
  }
  for (const [i, s] of st.subject.entries()) {
    if (out.length >= 20) break;
    const where = `subject[${i}]`;
    if (!isObject(s)) {
      out.push({ path: where, message: `statement.${where} must be an object` });
      continue;
    }
    if (s.name !== undefined && typeof s.name !== 'string') out.push({ path: `${where}.name`, message: `statement.${where}.name must be a string` });
    const d = s.digest;
    if (!isObject(d) || Object.keys(d).length === 0) {
      out.push({ path: `${where}.digest`, message: `statement.${where} needs a non-empty digest map` });
      continue;
    }
    for (const [alg, v] of Object.entries(d)) {
      const len = DIGEST_HEX_LENGTH[alg];
      if (typeof v !== 'string' || !/^[0-9a-f]+$/.test(v) || (len !== undefined && v.length !== len)) {
        out.push({ path: `${where}.digest.${alg}`, message: `statement.${where}.digest.${alg} must be ${len !== undefined ? `${len} ` : ''}lowercase hex characters` });
      }
    }
  }
  return out;
}

/** Throw INPUT_INVALID with the first problem, if any (the issuer's refusal). */
export function checkStatement(st: unknown): void {
  const p = statementProblems(st);
  if (p.length) throw new EvidentError('INPUT_INVALID', p[0]!.message);
}

export interface ArtifactFile {
  name: string;
  bytes: Uint8Array;
}

export interface ArtifactMatch {
  artifact: string;
  /** Index of the subject it matched, or undefined. */
  subject?: number;
  ok: boolean;
  message: string;
  /** `alg:hex` of the file (sha256). */
  actual: string;
}

/**
 * Match files against subjects (cosign verify-blob-attestation style): a file matches a subject when the subject
 * carries at least one digest Evident can compute (sha256, sha384, sha512) and every such digest equals the file's
 * (a subject whose sha256 matches but whose sha512 does not is contradictory and does not match). Names are not
 * required to agree (as cosign); among several matching subjects one with the file's name is preferred.
 * Every file must match some subject.
 */
export function matchArtifacts(subjects: readonly Subject[], files: readonly ArtifactFile[]): ArtifactMatch[] {
  return files.map((f) => {
    const digests = new Map<string, string>();
    const digestOf = (alg: (typeof ARTIFACT_ALGS)[number]) => {
      let h = digests.get(alg);
      if (h === undefined) digests.set(alg, (h = createHash(alg).update(f.bytes).digest('hex')));
      return h;
    };
    const sha256 = digestOf('sha256');
    let best: number | undefined;
    let contradictory: number | undefined;
    subjects.forEach((s, i) => {
      const algs = ARTIFACT_ALGS.filter((a) => typeof s.digest[a] === 'string');
      if (algs.length === 0) return;
      const eq = algs.filter((a) => s.digest[a] === digestOf(a));
      if (eq.length === algs.length) {
        if (best === undefined || (s.name === f.name && subjects[best]!.name !== f.name)) best = i;
      } else if (eq.length > 0) contradictory ??= i;
    });
    if (best !== undefined) {
      const s = subjects[best]!;
      const algs = ARTIFACT_ALGS.filter((a) => typeof s.digest[a] === 'string').join('+');
      return { artifact: f.name, subject: best, ok: true, actual: `sha256:${sha256}`, message: `${f.name} matches subject[${best}]${s.name !== undefined ? ` (${s.name})` : ''} by ${algs}` };
    }
    const why = contradictory !== undefined
      ? `subject[${contradictory}] has one matching and one different digest for ${f.name}`
      : subjects.some((s) => ARTIFACT_ALGS.some((a) => typeof s.digest[a] === 'string'))
        ? `no subject has the digest of ${f.name}`
        : `no subject carries a sha256, sha384 or sha512 digest to compare ${f.name} with`;
    return { artifact: f.name, ok: false, actual: `sha256:${sha256}`, message: why };
  });
}

/** The subjects of a statement that passed {@link statementProblems}. */
export function subjectsOf(st: Record<string, unknown>): Subject[] {
  return (st.subject as Array<Record<string, unknown>>).map((s) => ({ name: typeof s.name === 'string' ? s.name : undefined, digest: s.digest as Record<string, string> }));
}

/**
 * Format statements, profile-agnostic: the in-toto Statement v1 shape a profile builds for a receipt, and the
 * offline check of a statement against the profile that owns its predicate type.
 *
 * Each profile owns its builder and checker (src/profiles/<x>/statement.ts, a {@link StatementProfile}); the list
 * of profiles is composed in src/profiles/statements.ts and passed in, never imported here.
 *
 * Each predicate is self-contained: its subjects are a pure function of the predicate, and the predicate carries
 * what is needed to re-derive its hashes offline. Where a hash depends on number spelling (ELI json_c14n_v1, WCP
 * Python json.dumps), the predicate carries the canonical text as a string, since the statement itself is RFC 8785
 * canonical JSON (which would re-spell `1.0` as `1`).
 */
import { canonicalizeJcs } from '../kernel/json/index.ts';
import { isDigest } from '../kernel/digest.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

export interface PredicateProblem {
  id: string;
  message: string;
  expected?: string;
  actual?: string;
}

/** What a profile contributes to receipts: its predicate type, its offline check, its refusal codes. */
export interface StatementProfile {
  /** The `format` of a POST /v1/receipts request for this profile (e.g. `hashmatch`). */
  format: string;
  /** e.g. https://evident.dev/hashmatch/v1 */
  predicateType: string;
  /**
   * Re-derive the predicate's hashes from its own data, pushing what is inconsistent to `problems`; returns the
   * subjects the predicate implies. May throw (reported as a problem).
   */
  check(predicate: Record<string, unknown>, problems: PredicateProblem[]): Subject[];
  /** Library refusals meaning "well-formed, but contradicts itself or is refused by policy" (HTTP 422). */
  rejectCodes: readonly string[];
}

export const J = (v: unknown): string => JSON.stringify(v) ?? 'undefined';
export const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
/** `sha256:<hex>` → `<hex>` (the in-toto digest value). */
export const hexOf = (d: string): string => (isDigest(d) ? d.slice(7) : '');

/**
 * Re-derive a format statement's hashes from its own predicate (no artifact needed): the subjects must be exactly
 * the ones the predicate implies, and the predicate's hashes must follow from the data it carries. Returns the
 * problems found (empty = consistent); undefined when no given profile owns the predicate type.
 */
export function checkProfileStatement(statement: unknown, profiles: readonly StatementProfile[]): PredicateProblem[] | undefined {
  const st = obj(statement);
  const profile = st && typeof st.predicateType === 'string' ? profiles.find((p) => p.predicateType === st.predicateType) : undefined;
  if (!st || !profile) return undefined;
  const p = obj(st.predicate);
  if (!p) return [{ id: 'predicate', message: 'predicate must be an object' }];
  const problems: PredicateProblem[] = [];
  let implied: Subject[] = [];
  try {
    implied = profile.check(p, problems);
  } catch (e) {
    problems.push({ id: 'predicate', message: `predicate cannot be checked: ${(e as Error).message}` });
  }
  // key order is not significant (the signed payload is RFC 8785: keys sorted)
  const want = canonicalizeJcs(implied);
  let have: string;
  try {
    have = canonicalizeJcs(st.subject ?? null);
  } catch {
    have = J(st.subject);
  }
  if (want !== have) problems.push({ id: 'predicate.subject', message: 'statement subjects differ from the ones the predicate implies', expected: want.slice(0, 500), actual: have.slice(0, 500) });
  return problems;
}

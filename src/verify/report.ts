/**
 * The one verification report model shared by every format, the CLI (`--json`) and the service.
 *
 * A report is an ordered list of checks. Each failing check carries a category; the report's exit code is the
 * category of the first failure in the contract order input → integrity → key → signature → policy
 * (DEVELOPERS.md "Contracts"), regardless of the order in which checks were recorded.
 */

export type FailureCategory = 'input' | 'integrity' | 'key' | 'signature' | 'policy';

/** Exit codes of every verifying command. */
export const ExitCode = {
  OK: 0,
  POLICY: 1,
  INTEGRITY: 2,
  SIGNATURE: 3,
  KEY: 4,
  INPUT: 10,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const CATEGORY_EXIT: Record<FailureCategory, ExitCodeValue> = {
  input: ExitCode.INPUT,
  integrity: ExitCode.INTEGRITY,
  key: ExitCode.KEY,
  signature: ExitCode.SIGNATURE,
  policy: ExitCode.POLICY,
};

/** Precedence of categories when several checks fail (first wins). */
export const CATEGORY_ORDER: readonly FailureCategory[] = ['input', 'integrity', 'key', 'signature', 'policy'];

export interface Check {
  /** Stable identifier of the check within its format, e.g. `logHash`, `halo.block_3`, `signature`. */
  id: string;
  ok: boolean;
  /** Machine-readable code: `OK` on success, or a failure code such as `HASH_MISMATCH`, `ATTEST_SIG_INVALID`. */
  code: string;
  message: string;
  expected?: string;
  actual?: string;
  /** Only on failures: which exit-code class this failure belongs to. Not serialised. */
  category?: FailureCategory;
  /** Informational (warning) checks never fail the report even when ok=false. Not serialised. */
  informational?: boolean;
}

export type Mode = 'strict' | 'compat';

export interface ReportJson {
  valid: boolean;
  format: string;
  mode: Mode;
  exitCode: number;
  checks: Array<{ id: string; ok: boolean; code: string; message: string; expected?: string; actual?: string }>;
}

export class Report {
  readonly checks: Check[] = [];
  /**
   * Explicit exit code override, for compat modes that must reproduce an upstream verifier's own exit code
   * (e.g. ELI's eli_verify.py precedence). Leave undefined to use the contract order.
   */
  exitOverride?: number;

  constructor(
    public format: string,
    public mode: Mode = 'strict',
  ) {}

  pass(id: string, message: string, extra?: { code?: string; expected?: string; actual?: string }): this {
    this.checks.push({ id, ok: true, code: extra?.code ?? 'OK', message, expected: extra?.expected, actual: extra?.actual });
    return this;
  }

  fail(
    id: string,
    category: FailureCategory,
    code: string,
    message: string,
    extra?: { expected?: string; actual?: string },
  ): this {
    this.checks.push({ id, ok: false, code, message, category, expected: extra?.expected, actual: extra?.actual });
    return this;
  }

  /** A non-fatal observation (e.g. "seed integrity not asserted", "field unauthenticated"). */
  warn(id: string, code: string, message: string, extra?: { expected?: string; actual?: string }): this {
    this.checks.push({ id, ok: false, code, message, informational: true, expected: extra?.expected, actual: extra?.actual });
    return this;
  }

  /** Record a check from a boolean: pass when equal, fail with the given category/code otherwise. */
  compare(id: string, category: FailureCategory, code: string, label: string, expected: string, actual: string): boolean {
    if (expected === actual) this.pass(id, `${label} matches`, { expected, actual });
    else this.fail(id, category, code, `${label} mismatch`, { expected, actual });
    return expected === actual;
  }

  merge(other: Report, prefix?: string): this {
    for (const c of other.checks) this.checks.push(prefix ? { ...c, id: `${prefix}${c.id}` } : { ...c });
    return this;
  }

  get failures(): Check[] {
    return this.checks.filter(isFailure);
  }

  get valid(): boolean {
    // (no array built: verifiers ask this on their hot path)
    return !this.checks.some(isFailure);
  }

  get exitCode(): number {
    if (this.exitOverride !== undefined) return this.exitOverride;
    return exitCodeFor(this.failures);
  }

  toJSON(): ReportJson {
    return {
      valid: this.valid,
      format: this.format,
      mode: this.mode,
      exitCode: this.exitCode,
      checks: this.checks.map((c) => {
        const o: ReportJson['checks'][number] = { id: c.id, ok: c.ok, code: c.code, message: c.message };
        if (c.expected !== undefined) o.expected = c.expected;
        if (c.actual !== undefined) o.actual = c.actual;
        return o;
      }),
    };
  }
}

/** A check that fails its report: not ok and not a mere warning. */
function isFailure(c: Check): boolean {
  return !c.ok && !c.informational;
}

export function exitCodeFor(failures: readonly Check[]): number {
  let best = -1;
  for (const f of failures) {
    const idx = CATEGORY_ORDER.indexOf(f.category ?? 'input');
    if (best === -1 || idx < best) best = idx;
  }
  return best === -1 ? ExitCode.OK : CATEGORY_EXIT[CATEGORY_ORDER[best]!];
}

/** Category of an error code, for turning a thrown EvidentError into a failed check: KEY_* / TRUST_STORE* → key,
 * SIGNATURE* → signature, anything else → input. */
export function categoryOfCode(code: string): FailureCategory {
  return /^KEY_|^TRUST_STORE/.test(code) ? 'key' : /^SIGNATURE/.test(code) ? 'signature' : 'input';
}

/** A report for input that could not be read or parsed at all. */
export function inputFailure(format: string, mode: Mode, code: string, message: string): Report {
  return new Report(format, mode).fail('input', 'input', code, message);
}

/** Exit code for an error escaping a command. Input/IO/JSON problems are 10; key problems 4; signatures 3. */
export function exitCodeForError(e: unknown): number {
  const code = (e as { code?: string })?.code ?? '';
  if (/^KEY_|^TRUST_STORE/.test(code)) return ExitCode.KEY;
  if (/^SIGNATURE_/.test(code)) return ExitCode.SIGNATURE;
  return ExitCode.INPUT;
}

/** The one-object JSON report `--json` prints for an error that escaped a command. */
export function reportForError(e: unknown): ReportJson {
  const code = (e as { code?: string })?.code ?? 'INTERNAL';
  const msg = (e as Error)?.message ?? String(e);
  const j = new Report('error', 'strict').fail('error', 'input', code, msg).toJSON();
  j.exitCode = exitCodeForError(e);
  return j;
}

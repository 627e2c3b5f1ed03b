/**
 * The page's form and its "command line" field both come down to `evident verify` arguments: this module turns
 * them into the flags runVerify takes (the CLI gets the same object from commander), and back into a command line
 * the user can run with the CLI. Only the options that make sense without a database or a network are offered.
 */
import type { VerifyFlags } from '../verify/run.ts';
import type { Mode } from '../verify/report.ts';

/** flag → [VerifyFlags member, repeatable] */
const OPTIONS: Record<string, [keyof VerifyFlags, boolean]> = {
  '--key': ['key', true],
  '--trust': ['trust', false],
  '--log-key': ['logKey', false],
  '--entry': ['entry', false],
  '--leaf-hash': ['leafHash', false],
  '--witness': ['witness', true],
  '--witness-quorum': ['witnessQuorum', false],
  '--challenge': ['challenge', false],
  '--seal-registry': ['sealRegistry', false],
  '--now': ['now', false],
  '--format': ['format', false],
  '--mode': ['mode', false],
  '--worker-id': ['workerId', false],
  '--species': ['species', false],
  '--ban-list': ['banList', false],
  '--jwk': ['jwk', false],
  '--artifact': ['artifact', true],
  '--trusted-root': ['trustedRoot', false],
  '--certificate-identity': ['certificateIdentity', false],
  '--certificate-identity-regexp': ['certificateIdentityRegexp', false],
  '--certificate-oidc-issuer': ['certificateOidcIssuer', false],
};

export const PAGE_OPTIONS = Object.keys(OPTIONS);

export class ArgsError extends Error {
  readonly code = 'INPUT_INVALID';
}

/** Split a command line as a POSIX shell would for plain words, '…' and "…" (no expansions). */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (q) throw new ArgsError('unterminated quote in the command line');
  if (has) out.push(cur);
  return out;
}

/** Environment variables a command line may set before `evident` (the CLI reads them from its environment). */
export const PAGE_ENV = ['WCP_ATTEST_HMAC_KEY'] as const;

/**
 * `[NAME=value …] [evident] [verify] ARTIFACT [options]` → the artifact, the flags and the environment.
 * `--json` is accepted and implied.
 */
export function parseVerifyArgs(argv: string[]): { artifact: string; flags: VerifyFlags; env: Record<string, string> } {
  const a = [...argv];
  const env: Record<string, string> = {};
  while (a.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a[0]!)) {
    const w = a.shift()!;
    const name = w.slice(0, w.indexOf('='));
    if (!(PAGE_ENV as readonly string[]).includes(name)) throw new ArgsError(`the page sets no environment variable ${name} (only ${PAGE_ENV.join(', ')})`);
    env[name] = w.slice(name.length + 1);
  }
  if (a[0] === 'evident') a.shift();
  if (a[0] === 'verify') a.shift();
  const flags: VerifyFlags = { mode: 'strict' };
  let artifact: string | undefined;
  for (let i = 0; i < a.length; i++) {
    const arg = a[i]!;
    if (arg === '--json') continue;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      const opt = OPTIONS[name];
      if (!opt) throw new ArgsError(`unknown option ${name} (the page offers ${PAGE_OPTIONS.join(', ')})`);
      let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : a[++i];
      if (value === undefined) throw new ArgsError(`option ${name} needs a value`);
      const [member, repeatable] = opt;
      if (member === 'mode' && value !== 'strict' && value !== 'compat') throw new ArgsError(`--mode must be strict or compat, not ${JSON.stringify(value)}`);
      const f = flags as unknown as Record<string, unknown>;
      if (repeatable) f[member] = [...((f[member] as string[] | undefined) ?? []), value];
      else f[member] = value;
      value = undefined;
      continue;
    }
    if (artifact !== undefined) throw new ArgsError(`one artifact only (got ${JSON.stringify(artifact)} and ${JSON.stringify(arg)})`);
    artifact = arg;
  }
  if (artifact === undefined) throw new ArgsError('no artifact given');
  if (artifact === '-') throw new ArgsError('the page has no standard input: name a file');
  return { artifact, flags, env };
}

function quote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The CLI command that gives the same report. */
export function commandLine(artifact: string, flags: VerifyFlags, env: Record<string, string> = {}): string {
  const parts = [...Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`), 'evident', 'verify', quote(artifact)];
  for (const [name, [member]] of Object.entries(OPTIONS)) {
    const v = (flags as unknown as Record<string, unknown>)[member];
    if (v === undefined || (member === 'mode' && v === 'strict')) continue;
    for (const x of Array.isArray(v) ? v : [v]) parts.push(name, quote(String(x)));
  }
  parts.push('--json');
  return parts.join(' ');
}

export type { Mode };

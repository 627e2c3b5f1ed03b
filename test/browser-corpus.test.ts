/**
 * The browser-verifier corpus (test/browser/corpus.ts) against the CLI: every case's `evident verify … --json` exits
 * with the case's expectExit, prints exactly one JSON object (one line ending in '\n') whose format is the case's,
 * and prints the same bytes when run a second time. Coverage: ≥ 70 cases; every format `verify --help` lists has
 * a valid and a failing case (except the two whose valid verdict needs what the page cannot offer, see NO_VALID);
 * strict and compat cases for each of the five profiles.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildCorpus, pool, verifyCli, type CorpusCase } from './browser/corpus.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const CONCURRENCY = 2;
/** Formats with no valid case (none: WCP packages get their HMAC secret from `env`, CPHAR uses --seal-registry). */
const NO_VALID = new Set<string>();

test('browser corpus: every case matches the CLI (exit, one JSON object, format), twice byte for byte; coverage', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-browser-corpus-'));
  try {
    const t0 = performance.now();
    const cases = await buildCorpus(dir);
    const built = performance.now();

    // the contract of a case: relative paths only, no options the page cannot offer
    const FORBIDDEN = new Set(['--db', '-', '--json']);
    for (const c of cases) {
      for (const a of c.args) {
        assert.ok(!FORBIDDEN.has(a), `${c.name}: ${a}`);
        assert.ok(!path.isAbsolute(a), `${c.name}: absolute path ${a}`);
      }
      assert.ok(fs.existsSync(path.join(dir, c.args[0]!)), `${c.name}: artifact ${c.args[0]} exists in the corpus`);
    }
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'unique names');
    const symlinks: string[] = [];
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isSymbolicLink()) symlinks.push(e.name);
    assert.deepEqual(symlinks, [], 'no symlinks in the corpus');

    const results = await pool(cases, CONCURRENCY, async (c: CorpusCase) => [await verifyCli(c.args, dir, c.env), await verifyCli(c.args, dir, c.env)] as const);
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const [a, b] = results[i]!;
      const where = `${c.name} (verify ${c.args.join(' ')})`;
      if (a.code !== c.expectExit) failures.push(`${where}: exit ${a.code}, expected ${c.expectExit}: ${a.stdout}${a.stderr}`);
      if (!a.stdout.endsWith('\n') || a.stdout.indexOf('\n') !== a.stdout.length - 1) failures.push(`${where}: stdout is not one line ending in \\n: ${JSON.stringify(a.stdout)}`);
      let report: any;
      try {
        report = JSON.parse(a.stdout);
      } catch {
        failures.push(`${where}: stdout is not JSON: ${a.stdout}`);
      }
      if (report !== undefined) {
        if (typeof report !== 'object' || report === null || Array.isArray(report)) failures.push(`${where}: not a JSON object`);
        else {
          if (report.format !== c.format) failures.push(`${where}: format ${report.format}, expected ${c.format}`);
          if (report.exitCode !== a.code) failures.push(`${where}: report exitCode ${report.exitCode} != process exit ${a.code}`);
        }
      }
      if (a.stdout !== b.stdout || a.code !== b.code) failures.push(`${where}: not deterministic:\n  ${a.stdout}  ${b.stdout}`);
    });
    assert.deepEqual(failures, []);

    // coverage
    assert.ok(cases.length >= 70, `${cases.length} cases`);
    const help = spawnSync(process.execPath, [BIN, 'verify', '--help'], { encoding: 'utf8' }).stdout;
    const known = /Known formats: (.*)/.exec(help)![1]!.split(',').map((s) => s.trim());
    assert.ok(known.length >= 16, help);
    const byFormat = new Map<string, CorpusCase[]>();
    for (const c of cases) byFormat.set(c.format, [...(byFormat.get(c.format) ?? []), c]);
    for (const f of known) {
      const cs = byFormat.get(f) ?? [];
      if (!NO_VALID.has(f)) assert.ok(cs.some((c) => c.expectExit === 0), `${f}: a valid case`);
      assert.ok(cs.some((c) => c.expectExit !== 0), `${f}: a failing case`);
    }
    for (const code of [1, 2, 3, 4, 10]) assert.ok(cases.some((c) => c.expectExit === code), `a case with exit ${code}`);
    const modeOf = (c: CorpusCase) => (c.args.includes('--mode') ? c.args[c.args.indexOf('--mode') + 1] : 'strict');
    for (const profile of ['hashmatch', 'wcp', 'eli', 'cphar', 'h4']) {
      for (const mode of ['strict', 'compat']) {
        assert.ok(cases.some((c) => c.format.startsWith(profile) && modeOf(c) === mode), `${profile}: a ${mode} case`);
      }
    }
    const sig = byFormat.get('sigstore.bundle') ?? [];
    assert.ok(sig.filter((c) => c.expectExit === 0).length >= 3 && sig.filter((c) => c.expectExit !== 0).length >= 3, 'sigstore: 3 valid and 3 failing');
    for (const opt of ['--log-key', '--entry', '--leaf-hash', '--witness', '--witness-quorum', '--challenge', '--seal-registry', '--jwk', '--trust', '--artifact', '--trusted-root', '--certificate-identity', '--certificate-identity-regexp', '--certificate-oidc-issuer', '--now', '--worker-id', '--species', '--ban-list', '--format']) {
      assert.ok(cases.some((c) => c.args.includes(opt)), `a case uses ${opt}`);
    }

    const counts = Object.fromEntries([...byFormat].map(([f, cs]) => [f, `${cs.length} (${cs.filter((c) => c.expectExit === 0).length} valid)`]));
    process.stdout.write(`# ${cases.length} cases, built in ${((built - t0) / 1000).toFixed(1)} s, run twice in ${((performance.now() - built) / 1000).toFixed(1)} s; ${JSON.stringify(counts)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

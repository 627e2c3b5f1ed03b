/**
 * Mutation fuzz of Sigstore bundle verification (issue #21): the 70 sigstore-conformance bundles (and, one run in
 * eight, their trusted roots) mutated by the shared mutator (bit flips, byte overwrites, truncation, duplication,
 * JSON-token replacement) — on the whole file, or (two runs in eight) inside one field, base64 decoded first,
 * so DER certificates, RFC 3161 timestamps, tlog bodies and checkpoints are mutated behind a valid outer shape —
 * verified through `verifyAny` (what `evident verify` and `POST /v1/verify` run) with each case's artifact, identity policy, key and trusted root. Every run must return a report (never throw) with an
 * exit code from the contract that serialises to JSON, within 2 s. Deterministic (xorshift, fixed seed);
 * FUZZ_RUNS=100000 for a longer run.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { bytesInput, verifyAny, type VerifyOptions } from '../src/verify/detect.ts';
import { mutator, xorshift } from './fuzz-mutate.ts';
import { conformanceCases } from './sigstore-cases.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10000);
const EXIT_CODES = new Set([0, 1, 2, 3, 4, 10]);
const JUNK = ['null', '0', '-1', '1e999', '""', '"\\ud800"', '[]', '{}', 'true', '"AAAA"', '"=="', '"-1"', '"18446744073709551616"', '99999999999999999999999', '['.repeat(300) + ']'.repeat(300), '"' + 'x'.repeat(5000) + '"', '{"__proto__":{"x":1}}', '{"a":1,"a":2}', '"application/vnd.dev.sigstore.bundle.v0.3+json"', '"MEUCIQ=="'];

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Mutate inside one string field of the bundle (base64 fields decoded, mutated, re-encoded): reaches the DER
 * certificates, RFC 3161 timestamps, tlog bodies, checkpoints and signatures behind a valid outer shape.
 */
function mutateField(bundle: Buffer, rand: (n: number) => number, mutate: (b: Buffer) => Buffer): Buffer {
  const j = JSON.parse(bundle.toString('utf8')) as unknown;
  const leaves: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (typeof x === 'string' ? leaves.push([v, i]) : walk(x)));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string') leaves.push([v as Record<string, unknown>, k]);
        else walk(x);
      }
    }
  };
  walk(j);
  if (leaves.length === 0) return bundle;
  const [holder, key] = leaves[rand(leaves.length)]!;
  const get = () => (holder as Record<string | number, string>)[key]!;
  const set = (x: string) => ((holder as Record<string | number, string>)[key] = x);
  const v = get();
  if (v.length >= 8 && v.length % 4 === 0 && B64.test(v)) {
    const inner = Buffer.from(v, 'base64');
    // a base64 JSON body (tlog canonicalizedBody): sometimes mutate one level deeper
    if (inner[0] === 0x7b && rand(2) === 0) set(mutateField(inner, rand, mutate).toString('base64'));
    else set(mutate(inner).toString('base64'));
  } else {
    set(mutate(Buffer.from(v, 'utf8')).toString('utf8'));
  }
  return Buffer.from(JSON.stringify(j));
}

test(`Sigstore: verifyAny on ${RUNS} mutated bundles / trusted roots: a report with a contract exit code, never a throw or a hang`, { timeout: 300_000 }, async () => {
  const cases = conformanceCases().filter((c) => !c.name.includes('malformed-json'));
  const rand = xorshift(0x5157a7e5);
  const mutate = mutator(rand, JUNK);
  const seen = new Map<number, number>();
  const t0 = Date.now();
  for (let run = 0; run < RUNS; run++) {
    const c = cases[rand(cases.length)]!;
    let bundle: Buffer = c.bundle;
    let root: unknown = c.trustedRoot;
    const kind = rand(8);
    if (kind === 0) {
      let r: Buffer = Buffer.from(c.trustedRootText);
      for (let k = 1 + rand(2); k > 0; k--) r = mutate(r);
      root = r.toString('latin1');
    } else if (kind <= 2) {
      bundle = mutateField(c.bundle, rand, mutate);
    } else {
      for (let k = 1 + rand(3); k > 0; k--) bundle = mutate(bundle);
    }
    const opts: VerifyOptions = { mode: 'strict', ...c.options, trustedRoot: root };
    const started = Date.now();
    let report;
    try {
      report = await verifyAny(bytesInput(bundle), opts);
    } catch (e) {
      assert.fail(`run ${run} (${c.name}) threw: ${(e as Error)?.stack ?? e}`);
    }
    const ms = Date.now() - started;
    assert.ok(ms < 2000, `run ${run} (${c.name}) took ${ms} ms`);
    const j = report.toJSON();
    assert.ok(EXIT_CODES.has(j.exitCode), `run ${run} (${c.name}): exit ${j.exitCode}`);
    assert.equal(j.valid, j.exitCode === 0);
    JSON.stringify(j);
    seen.set(j.exitCode, (seen.get(j.exitCode) ?? 0) + 1);
  }
  // the mutations must reach past the parser: every exit class shows up
  for (const code of [0, 1, 2, 3, 4, 10]) assert.ok((seen.get(code) ?? 0) > 0, `no run ended with exit ${code}: ${JSON.stringify([...seen])}`);
  console.log(`# ${RUNS} runs in ${Date.now() - t0} ms; exit codes ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
});

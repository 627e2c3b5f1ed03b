/**
 * HashMatch compat mode against exit codes observed from the upstream CLIs (DeployFaith/hashmatch@3c4de53, run with
 * tsx from a scratch checkout; test/compat-upstream/hashmatch.json says how). Each case mutates a copy of the shared
 * tournament-42 vector exactly as the oracle script did; compat must give each upstream tool's exit code, strict its
 * own verdict.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { verifyTournamentCompat, verifyTournamentStrict, type UpstreamTool } from '../src/profiles/hashmatch/verify.ts';
import { bytesInput, verifyAny } from '../src/verify/detect.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/hashmatch/generated');
const PUB = path.join(V, 'keys/organizer.pub');
const DATA = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/hashmatch.json'), 'utf8')) as {
  cases: Record<string, { what: string; exit: Record<string, number> }>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-compat-hm-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** tournament_receipt.json first, then matches/*\/receipt.json in name order (as the oracle script listed them). */
function receipts(d: string): string[] {
  return [path.join(d, 'tournament_receipt.json'), ...fs.readdirSync(path.join(d, 'matches')).sort().map((m) => path.join(d, 'matches', m, 'receipt.json'))];
}
const upper = (f: string) => {
  const t = fs.readFileSync(f, 'utf8');
  const u = t.replace(/"publicKey":"([0-9a-f]+)"/g, (_m, h: string) => `"publicKey":"${h.toUpperCase()}"`);
  assert.notEqual(u, t);
  fs.writeFileSync(f, u);
};
const MUTATIONS: Record<string, (d: string) => void> = {
  'uppercase-publickey-all': (d) => receipts(d).forEach(upper),
  'uppercase-publickey-one': (d) => upper(receipts(d)[1]!),
  'receipt-trailing-garbage': (d) => fs.appendFileSync(receipts(d)[1]!, '\nGARBAGE'),
  'receipt-trailing-object': (d) => fs.appendFileSync(receipts(d)[1]!, '{}'),
  'receipt-trailing-whitespace': (d) => fs.appendFileSync(receipts(d)[1]!, ' \n\t\n'),
  'tournament-receipt-trailing-garbage': (d) => fs.appendFileSync(receipts(d)[0]!, 'x'),
};
/** Strict mode's own verdict (exit code) with --key organizer.pub. */
const STRICT: Record<string, number> = {
  'uppercase-publickey-all': 0, // strict compares keys, not hex spellings (the signature verifies with the pinned key)
  'uppercase-publickey-one': 0,
  'receipt-trailing-garbage': 10, // unparsable receipt: input
  'receipt-trailing-object': 10,
  'receipt-trailing-whitespace': 0,
  'tournament-receipt-trailing-garbage': 10,
};
const TOOLS: Record<string, UpstreamTool> = {
  'verify-receipt --pub': 'verify-receipt',
  'validate-bundle': 'validate-bundle',
  'validate-bundle --require-signatures': 'validate-bundle-require-signatures',
  'verify-tournament': 'verify-tournament',
};

test('every observed case has a mutation and a strict verdict', () => {
  assert.deepEqual(Object.keys(DATA.cases).sort(), Object.keys(MUTATIONS).sort());
  assert.deepEqual(Object.keys(DATA.cases).sort(), Object.keys(STRICT).sort());
});

for (const [name, c] of Object.entries(DATA.cases)) {
  test(`hashmatch compat = upstream: ${name} (${c.what})`, async () => {
    const d = path.join(tmp, name);
    fs.cpSync(path.join(V, 'tournament-42'), d, { recursive: true });
    MUTATIONS[name]!(d);
    for (const [tool, exit] of Object.entries(c.exit)) {
      const r = await verifyTournamentCompat(d, { mode: 'compat', keys: tool.includes('--pub') ? [PUB] : undefined }, TOOLS[tool]);
      assert.equal(r.exitCode, exit, `${tool}: ${JSON.stringify(r.toJSON().checks.filter((x) => !x.ok))}`);
    }
    const s = await verifyTournamentStrict(d, { mode: 'strict', keys: [PUB] });
    assert.equal(s.exitCode, STRICT[name], JSON.stringify(s.toJSON().checks.filter((x) => !x.ok)));
  });
}

test('generic verify --mode compat: a duplicate-key receipt is detected and judged as upstream verifyReceipt (JSON.parse)', async () => {
  const f = path.join(V, 'tournament-42/tournament_receipt.json');
  const text = fs.readFileSync(f, 'utf8');
  // duplicate "version" members: JSON.parse keeps the last (1): the receipt verifies; strict refuses the duplicate
  const dup = Buffer.from(text.replace('{', '{"version":7,'));
  const c = await verifyAny(bytesInput(dup), { mode: 'compat', keys: [PUB] });
  assert.equal(c.format, 'hashmatch.receipt');
  assert.equal(c.exitCode, 0, JSON.stringify(c.toJSON()));
  assert.equal((await verifyAny(bytesInput(dup), { mode: 'strict', keys: [PUB] })).exitCode, 10);
  // the last value is the bad one: upstream verifyReceipt returns false (exit 1)
  const dupBad = Buffer.from(text.replace(/}\s*$/, ',"version":7}'));
  assert.equal((await verifyAny(bytesInput(dupBad), { mode: 'compat', keys: [PUB] })).exitCode, 1);
});

test('hashmatch verify-receipt FILE --mode compat parses as evident verify --mode compat does (JSON.parse)', () => {
  const BIN = path.resolve(repoRoot, 'bin/evident.js');
  const text = fs.readFileSync(path.join(V, 'tournament-42/tournament_receipt.json'), 'utf8');
  const f = path.join(tmp, 'dup-receipt.json');
  fs.writeFileSync(f, text.replace('{', '{"version":7,'));
  const r = spawnSync(process.execPath, [BIN, 'hashmatch', 'verify-receipt', f, '--key', PUB, '--mode', 'compat', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout);
  const s = spawnSync(process.execPath, [BIN, 'hashmatch', 'verify-receipt', f, '--key', PUB, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(s.status, 10, s.stdout);
});

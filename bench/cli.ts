/**
 * bench/cli: wall-clock start-up of the compiled `evident` CLI (bin/evident.js → dist/) against a bare `node -e 0`
 * measured alternately in the same run (one baseline run, then one run of each command, repeated), median of N
 * runs each. Targets (issue #18): `--version` ≤ 1.5×, `verify RECEIPT --key …` ≤ 2.5×, `canon FILE` ≤ 2×.
 *
 *   npm run build && node --import tsx bench/cli.ts [--runs N]
 *
 * The receipt is issued in-process first (a temp SQLite log, an Ed25519 issuer), so `verify` does the real work:
 * DSSE signature, statement rules, tlog-proof inclusion and checkpoint signature.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair, publicKeyPem, keyId } from '../src/kernel/keys.ts';
import { noteSigner, formatVkey } from '../src/kernel/note.ts';
import { openLog } from '../src/log/index.ts';
import { issueReceipt } from '../src/receipts/receipt.ts';

const runs = Math.max(10, Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15);
const root = path.resolve(import.meta.dirname, '..');
const BIN = path.join(root, 'bin/evident.js');
if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-bench-cli-'));
const issuer = generateKeyPair('ed25519');
const logKey = generateKeyPair('ed25519');
const signer = noteSigner('bench.example/log', logKey.privateKey);
const log = await openLog({ db: `sqlite:${path.join(tmp, 'log.db')}`, signer, origin: 'bench.example/log' });
const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'README.md', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: 'https://example.com/bench/v1',
  predicate: { note: 'bench' },
};
const receipt = await issueReceipt(log, { privateKey: issuer.privateKey, kid: keyId(issuer.publicKey) }, { format: 'in-toto', statement });
await log.close();
fs.writeFileSync(path.join(tmp, 'receipt.json'), JSON.stringify(receipt));
fs.writeFileSync(path.join(tmp, 'issuer.pem'), publicKeyPem(issuer.publicKey));
fs.writeFileSync(path.join(tmp, 'doc.json'), JSON.stringify({ b: [1.5, 'é', { z: null, a: true }], a: 1e21 }));
const vkey = formatVkey('bench.example/log', logKey.publicKey);

const cases: Array<{ name: string; args: string[]; target: number }> = [
  { name: 'evident --version', args: [BIN, '--version'], target: 1.5 },
  { name: 'evident verify RECEIPT --key …', args: [BIN, 'verify', 'receipt.json', '--key', 'issuer.pem', '--log-key', vkey], target: 2.5 },
  { name: 'evident canon FILE', args: [BIN, 'canon', 'doc.json'], target: 2 },
];

function timeOnce(args: string[], expectCode = 0): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== expectCode) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// warm the file cache
timeOnce(['-e', '0']);
for (const c of cases) timeOnce(c.args);

const base: number[] = [];
const times = cases.map(() => [] as number[]);
for (let i = 0; i < runs; i++) {
  cases.forEach((c, j) => {
    base.push(timeOnce(['-e', '0']));
    times[j].push(timeOnce(c.args));
  });
}
const b = median(base);
console.log(`bench/cli: ${runs} runs each, alternating with \`node -e 0\` (median ${b.toFixed(1)} ms), ${os.cpus().length} cores, node ${process.version}`);
let ok = true;
cases.forEach((c, j) => {
  const m = median(times[j]);
  const ratio = m / b;
  ok &&= ratio <= c.target;
  console.log(`${c.name.padEnd(34)} ${m.toFixed(1).padStart(7)} ms   ${ratio.toFixed(2)}x node -e 0   (target <= ${c.target}x) ${ratio <= c.target ? 'ok' : 'MISSED'}`);
});
fs.rmSync(tmp, { recursive: true, force: true });
console.log(ok ? 'all targets met' : 'some targets missed');

/**
 * The installable package (issue #18): `npm pack` of this clone, installed into an empty project elsewhere, gives a
 * working `evident` CLI and `import('evident')` — no clone, no tsx, no ../shared. The tarball must not hold a
 * private key, test data or a data directory.
 *
 * Needs the compiled dist/ (`npm test` builds it first). In CI (CI=true) the tarball is installed as a user would,
 * install scripts included (better-sqlite3 builds from source, ~75 s); elsewhere with --ignore-scripts (nothing
 * tested here needs the native module, which the lazy CLI never loads for these commands).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateKeyPair, keyId, publicKeyPem } from '../src/kernel/keys.ts';
import { formatVkey, noteSigner } from '../src/kernel/note.ts';
import { openLog } from '../src/log/index.ts';
import { issueReceipt } from '../src/receipts/receipt.ts';
import { commandsWithoutExamples } from '../src/cli/examples.ts';
import { buildFullProgram } from '../src/cli/main.ts';
import { VERSION } from '../src/version.ts';

const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string; license: string };

function sh(cmd: string, args: string[], o: { cwd: string; input?: string | Buffer; env?: NodeJS.ProcessEnv; timeout?: number }) {
  const r = spawnSync(cmd, args, { cwd: o.cwd, input: o.input, env: o.env ?? process.env, timeout: o.timeout ?? 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '', error: r.error };
}

test('version and licence agree with package.json; every command has an example', async () => {
  assert.equal(VERSION, pkg.version);
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.deepEqual(commandsWithoutExamples(await buildFullProgram()), []);
});

test('npm pack → npm install in an empty project: CLI and ESM import work without the clone', { timeout: 420_000 }, async () => {
  assert.ok(fs.existsSync(path.join(root, 'dist/index.js')) && fs.existsSync(path.join(root, 'dist/index.d.ts')), 'dist/ is built (npm run build)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-pack-'));
  try {
    // a private key and a data directory left in the clone must not reach the tarball (the tour writes ./k/)
    const planted = [path.join(root, 'k-pack-test'), path.join(root, 'evident-data')];
    const hadData = fs.existsSync(planted[1]);
    fs.mkdirSync(planted[0], { recursive: true });
    fs.writeFileSync(path.join(planted[0], 'private.pem'), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    if (!hadData) fs.mkdirSync(planted[1]);
    let packed;
    try {
      packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
    } finally {
      fs.rmSync(planted[0], { recursive: true, force: true });
      if (!hadData) fs.rmSync(planted[1], { recursive: true, force: true });
    }
    assert.equal(packed.code, 0, packed.stderr);
    const info = JSON.parse(packed.stdout)[0] as { filename: string; files: Array<{ path: string }> };
    const files = info.files.map((f) => f.path);
    for (const f of files) {
      assert.doesNotMatch(f, /\.pem$|(^|\/)evident-data(\/|$)|^test\/|^bench\/|^src\/|\.db$|tsbuildinfo/, `tarball holds ${f}`);
    }
    for (const need of ['package.json', 'LICENSE', 'README.md', 'bin/evident.js', 'dist/index.js', 'dist/index.d.ts', 'dist/bin/evident.js', 'dist/kernel/index.js']) {
      assert.ok(files.includes(need), `tarball lacks ${need}`);
    }

    // an empty project elsewhere
    const proj = path.join(work, 'consumer');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    const full = process.env.CI === 'true';
    const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...(full ? [] : ['--ignore-scripts']), path.join(work, info.filename)], { cwd: proj, timeout: 400_000 });
    assert.equal(inst.code, 0, inst.stderr);
    assert.ok(!fs.existsSync(path.join(proj, 'node_modules/tsx')), 'tsx is not installed for users');
    assert.ok(!fs.existsSync(path.join(proj, 'node_modules/typescript')), 'typescript is not installed for users');

    const env = { ...process.env, NODE_OPTIONS: '' };
    const evident = (args: string[], input?: string | Buffer) => sh(path.join(proj, 'node_modules/.bin/evident'), args, { cwd: proj, input, env });
    const v = evident(['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    const vj = evident(['version', '--json']);
    assert.equal(vj.code, 0, vj.stderr);
    const vjson = JSON.parse(vj.stdout) as { version: string; commit: string | null };
    assert.equal(vjson.version, pkg.version);
    assert.ok(vjson.commit === null || /^[0-9a-f]{40}$/.test(vjson.commit));

    // the installed package carries the built verifier page
    const vp = evident(['verifier-page', '--out', 'verify.html']);
    assert.equal(vp.code, 0, vp.stderr);
    assert.match(fs.readFileSync(path.join(proj, 'verify.html'), 'utf8'), /connect-src 'none'/);

    assert.equal(evident(['keys', 'generate', '--out', 'k']).code, 0);
    assert.ok(fs.existsSync(path.join(proj, 'k/private.pem')));
    fs.writeFileSync(path.join(proj, 'msg.txt'), 'hello from the tarball\n');
    const signed = evident(['sign', '--key', 'k/private.pem', '--dsse', 'text/plain', 'msg.txt']);
    assert.equal(signed.code, 0, signed.stderr);
    fs.writeFileSync(path.join(proj, 'msg.dsse.json'), signed.stdout);
    const ok = evident(['verify', 'msg.dsse.json', '--key', 'k/public.pem', '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { valid: boolean }).valid, true);
    // `sign … | verify -`: the artifact from stdin
    const piped = evident(['verify', '-', '--key', 'k/public.pem', '--json'], signed.stdout);
    assert.equal(piped.code, 0, piped.stdout + piped.stderr);
    const tampered = evident(['verify', '-', '--key', 'k/public.pem', '--json'], signed.stdout.replace(/"payload": "[A-Za-z0-9+/]/, '"payload": "A'));
    assert.notEqual(tampered.code, 0);
    const other = generateKeyPair('ed25519');
    fs.writeFileSync(path.join(proj, 'other.pem'), publicKeyPem(other.publicKey));
    assert.equal(evident(['verify', '-', '--key', 'other.pem'], signed.stdout).code, 3);

    // a logged receipt, verified through the ESM library API of the installed package
    const issuer = generateKeyPair('ed25519');
    const logKey = generateKeyPair('ed25519');
    const log = await openLog({ db: `sqlite:${path.join(work, 'log.db')}`, signer: noteSigner('pack.example/log', logKey.privateKey), origin: 'pack.example/log' });
    const receipt = await issueReceipt(log, { privateKey: issuer.privateKey, kid: keyId(issuer.publicKey) }, {
      format: 'in-toto',
      statement: {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'msg.txt', digest: { sha256: 'ab'.repeat(32) } }],
        predicateType: 'https://example.com/pack/v1',
        predicate: {},
      },
    });
    await log.close();
    fs.writeFileSync(path.join(proj, 'receipt.json'), JSON.stringify(receipt));
    fs.writeFileSync(path.join(proj, 'issuer.pem'), publicKeyPem(issuer.publicKey));
    const vkey = formatVkey('pack.example/log', logKey.publicKey);
    fs.writeFileSync(
      path.join(proj, 'check.mjs'),
      `import fs from 'node:fs';
import { verifyBytes, ExitCode } from 'evident';
import { canonicalizeJcs } from 'evident/kernel';
import { hashLeaf } from 'evident/log';
const r = await verifyBytes(fs.readFileSync('receipt.json'), { keys: [fs.readFileSync('issuer.pem', 'utf8')], logKey: process.argv[2] });
const bad = await verifyBytes(fs.readFileSync('receipt.json'), { keys: [fs.readFileSync('other.pem', 'utf8')], logKey: process.argv[2] });
console.log(JSON.stringify({ valid: r.valid, exit: r.exitCode, format: r.format, badExit: bad.exitCode, sig: ExitCode.SIGNATURE, canon: canonicalizeJcs({ b: 1, a: 2 }), leaf: typeof hashLeaf }));
`,
    );
    const lib = sh(process.execPath, ['check.mjs', vkey], { cwd: proj, env });
    assert.equal(lib.code, 0, lib.stderr);
    const out = JSON.parse(lib.stdout) as Record<string, unknown>;
    assert.deepEqual(out, { valid: true, exit: 0, format: out.format, badExit: 3, sig: 3, canon: '{"a":2,"b":1}', leaf: 'function' });
    assert.match(String(out.format), /receipt/);
    // the CLI agrees on the same receipt
    assert.equal(evident(['verify', 'receipt.json', '--key', 'issuer.pem', '--log-key', vkey]).code, 0);

    // the types resolve for a TypeScript consumer (NodeNext), with this clone's compiler
    fs.writeFileSync(
      path.join(proj, 'consumer.ts'),
      `import { verifyBytes, type ReportJson } from 'evident';\nconst r = await verifyBytes('{}');\nconst j: ReportJson = r.toJSON();\nexport const n: number = j.exitCode;\n`,
    );
    const tsc = sh(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'consumer.ts'], { cwd: proj });
    assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

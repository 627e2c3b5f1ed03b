/**
 * The verifier page's surfaces and build (#25), without a browser: `evident verifier-page` writes exactly the
 * built page; GET /verify serves the same bytes with the CSP as a header, an ETag and 304; the bundle is built
 * from the same profile modules as the CLI with the crypto port's browser side (never node:crypto); the HTML is
 * self-contained (no external URL, a CSP that allows no connection).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startService } from '../src/server/service.ts';
// @ts-expect-error: a plain ESM build script without types
import { buildPage } from '../scripts/build-page.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'evident.js');
const PAGE = path.join(ROOT, 'dist', 'page', 'verify.html');

test('evident verifier-page writes the built page (file, atomically; or stdout)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-page-cli-'));
  try {
    const r = spawnSync(process.execPath, [BIN, 'verifier-page', '--out', 'v.html'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote v\.html/);
    assert.ok(fs.readFileSync(path.join(dir, 'v.html')).equals(fs.readFileSync(PAGE)));
    assert.deepEqual(fs.readdirSync(dir), ['v.html'], 'no temporary file left behind');
    const out = spawnSync(process.execPath, [BIN, 'verifier-page', '--out', '-'], { cwd: dir, maxBuffer: 8 << 20 });
    assert.equal(out.status, 0);
    assert.ok(out.stdout.equals(fs.readFileSync(PAGE)));
    const bad = spawnSync(process.execPath, [BIN, 'verifier-page', '--out', 'no/such/dir/v.html'], { cwd: dir, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /^evident: [A-Z_]+: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /verify serves the same page with its CSP as a header, an ETag and 304', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-page-svc-'));
  const s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0, logger: false });
  try {
    const r = await fetch(`${s.url}/verify`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    const body = Buffer.from(await r.arrayBuffer());
    assert.ok(body.equals(fs.readFileSync(PAGE)), 'the served page is dist/page/verify.html');
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /connect-src 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.ok(body.toString('utf8').includes(`content="${csp}"`), 'header CSP = meta CSP');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const etag = r.headers.get('etag')!;
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
    const again = await fetch(`${s.url}/verify`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const spec = (await (await fetch(`${s.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(spec.paths['/verify'], 'GET /verify is in the OpenAPI document');
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the page bundle: the same profiles as the CLI, the browser crypto port, no node:crypto, self-contained HTML', async () => {
  const { html, metafile } = (await buildPage({ version: 'test' })) as { html: string; metafile: { inputs: Record<string, unknown> } };
  const inputs = Object.keys(metafile.inputs);
  for (const m of ['src/verify/run.ts', 'src/verify/detect.ts', 'src/verify/report.ts', 'src/kernel/crypto/index.ts', 'src/kernel/crypto/browser.ts']) assert.ok(inputs.includes(m), `bundle includes ${m}`);
  for (const p of fs.readdirSync(path.join(ROOT, 'src/profiles'))) {
    const v = `src/profiles/${p}/verify.ts`;
    if (fs.existsSync(path.join(ROOT, v))) assert.ok(inputs.includes(v), `bundle includes ${v}`);
  }
  assert.ok(!inputs.includes('src/kernel/crypto/node.ts'), 'the Node side of the crypto port is not in the page');
  assert.ok(!inputs.some((i) => i.startsWith('node:') || i === 'crypto'), 'no Node built-in');
  // one script, one style, both inline; no URL the browser would fetch
  assert.equal((html.match(/<script\b/g) ?? []).length, 1);
  assert.ok(!/<script[^>]+src=/.test(html) && !/<link\b/.test(html), 'no external script or stylesheet');
  assert.ok(!/\b(?:src|href|action)=["']?(?:https?:)?\/\//i.test(html), 'no external src/href');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]{43}='/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
});

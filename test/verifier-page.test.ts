/**
 * The offline verifier page (#25) in Debian's Chromium, driven by playwright-core: for every case of the corpus
 * (test/browser/corpus.ts, made by the CLI in this test) the page's JSON report equals `evident verify … --json`
 * byte for byte; the page makes no network request; a folder picked with the folder picker verifies as a
 * directory; the download is the same bytes; the page is within its size budget, labelled, and fits a phone.
 * CI installs chromium (.ci/run); elsewhere the test is skipped when /usr/bin/chromium is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { buildCorpus, pool, verifyCli as cli, type CorpusCase } from './browser/corpus.ts';

// page.evaluate callbacks run in the page: its globals, typed loosely here (this file compiles without the DOM lib)
declare const document: any;
declare const window: any;

const ROOT = path.resolve(import.meta.dirname, '..');
const PAGE = path.join(ROOT, 'dist', 'page', 'verify.html');
const CHROMIUM = process.env.EVIDENT_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const SCREENSHOTS = process.env.EVIDENT_SCREENSHOTS; // a folder: also write the docs' screenshots there

const shq = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function walk(dir: string, base = dir): Array<{ path: string; base64: string; mtimeMs: number }> {
  const out: Array<{ path: string; base64: string; mtimeMs: number }> = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push({ path: path.relative(base, p).split(path.sep).join('/'), base64: fs.readFileSync(p).toString('base64'), mtimeMs: fs.statSync(p).mtimeMs });
  }
  return out;
}

test('verifier page: same reports as the CLI, offline, in Chromium', { skip: !haveChromium && !process.env.CI ? `no ${CHROMIUM} (CI installs it)` : false, timeout: 600_000 }, async (t) => {
  assert.ok(haveChromium, `${CHROMIUM} is missing (CI must install Debian's chromium)`);
  assert.ok(fs.existsSync(PAGE), `${PAGE} is missing: run npm run build`);
  const html = fs.readFileSync(PAGE);
  const gz = zlib.gzipSync(html, { level: 9 }).length;
  t.diagnostic(`page: ${html.length} bytes, ${gz} gzip`);
  assert.ok(gz <= 400 * 1024, `page is ${gz} bytes gzipped (budget 400 KB)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-page-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const corpus: CorpusCase[] = await buildCorpus(dir);
  assert.ok(corpus.length >= 60, `corpus has ${corpus.length} cases (need >= 60)`);
  const expected = await pool(corpus, 2, (c) => cli(c.args, dir, c.env));
  for (const [i, c] of corpus.entries()) assert.equal(expected[i]!.code, c.expectExit, `${c.name}: CLI exit ${expected[i]!.code}, corpus says ${c.expectExit}\n${expected[i]!.stdout}${expected[i]!.stderr}`);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const context = await browser.newContext({ offline: true, acceptDownloads: true });
  const requests: string[] = [];
  const pageUrl = pathToFileURL(PAGE).href;
  context.on('request', (r) => {
    if (r.url() !== pageUrl) requests.push(r.url());
  });
  await context.route(/^(?!file:)/, (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(pageUrl);
  await page.waitForSelector('body[data-state="ready"]');

  await page.evaluate((files) => (globalThis as any).evidentPage.mount(files), walk(dir));

  const mismatches: string[] = [];
  for (const [i, c] of corpus.entries()) {
    const line = [...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${shq(v)}`), ...['evident', 'verify', ...c.args, '--json'].map(shq)].join(' ');
    await page.fill('#cmd', line);
    await page.click('#verify');
    await page.waitForSelector('body[data-state="done"]');
    const got = await page.locator('#json').textContent();
    await page.evaluate(() => (document.body.dataset.state = 'ready'));
    if (got !== expected[i]!.stdout) mismatches.push(`${c.name}\n  cli:  ${expected[i]!.stdout.trim()}\n  page: ${String(got).trim()}`);
  }
  assert.deepEqual(mismatches, [], `${mismatches.length}/${corpus.length} page reports differ from the CLI:\n${mismatches.join('\n')}`);

  // the download button offers exactly the shown report
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = fs.readFileSync((await download.path())!, 'utf8');
  assert.equal(saved, expected[corpus.length - 1]!.stdout);

  // the real controls: a WCP package through the folder picker, its key through the file picker, the rest through
  // the form; the form's command line is the CLI's, and the report equals the CLI's in the same layout
  const wcp = corpus.find((c) => c.name === 'wcp.package/strict/valid')!;
  const pkgDir = path.join(dir, wcp.args[0]!);
  const keyFile = path.join(dir, wcp.args[wcp.args.indexOf('--key') + 1]!);
  const flag = (name: string) => wcp.args[wcp.args.indexOf(name) + 1]!;
  const fresh = await context.newPage();
  await fresh.goto(pageUrl);
  await fresh.waitForSelector('body[data-state="ready"]');
  await fresh.setInputFiles('#pick-folder', pkgDir);
  await fresh.setInputFiles('#pick-files', keyFile);
  await fresh.waitForFunction(() => document.querySelectorAll('#file-list li').length > 2);
  await fresh.selectOption('#f-artifact', path.basename(pkgDir));
  await fresh.selectOption('#f-key', path.basename(keyFile));
  await fresh.click('summary:has-text("More options")');
  await fresh.fill('#f-worker-id', flag('--worker-id'));
  await fresh.fill('#f-species', flag('--species'));
  await fresh.fill('#f-wcp-secret', wcp.env!.WCP_ATTEST_HMAC_KEY!);
  const formLine = await fresh.inputValue('#cmd');
  const want = `WCP_ATTEST_HMAC_KEY=${wcp.env!.WCP_ATTEST_HMAC_KEY} evident verify ${path.basename(pkgDir)} --key ${path.basename(keyFile)} --worker-id ${flag('--worker-id')} --species ${flag('--species')} --json`;
  assert.equal(formLine, want, 'the form writes the CLI command line');
  await fresh.click('#verify');
  await fresh.waitForSelector('body[data-state="done"]');
  const viaForm = await fresh.locator('#json').textContent();
  const layout = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-page-layout-'));
  t.after(() => fs.rmSync(layout, { recursive: true, force: true }));
  fs.cpSync(pkgDir, path.join(layout, path.basename(pkgDir)), { recursive: true });
  fs.copyFileSync(keyFile, path.join(layout, path.basename(keyFile)));
  const viaCli = await cli([path.basename(pkgDir), '--key', path.basename(keyFile), '--worker-id', flag('--worker-id'), '--species', flag('--species')], layout, wcp.env);
  assert.equal(viaForm, viaCli.stdout, 'folder picker + form = CLI');
  assert.match(viaForm ?? '', /"valid":true/);
  assert.equal(await fresh.locator('#verdict').textContent().then((v: string | null) => v?.startsWith('✔ Valid')), true);

  // a pasted JWKS: one key file per key, selected as the pinned key, and the same report as the CLI with that file
  const jwk = JSON.parse(fs.readFileSync(path.join(dir, 'keys/a/public.jwk'), 'utf8'));
  const third = await context.newPage();
  await third.goto(pageUrl);
  await third.waitForSelector('body[data-state="ready"]');
  await third.setInputFiles('#pick-files', path.join(dir, 'dsse/env.json'));
  await third.waitForFunction(() => document.querySelectorAll('#file-list li').length === 1);
  await third.selectOption('#f-artifact', 'env.json');
  await third.fill('#f-paste', JSON.stringify({ keys: [jwk] }, null, 2));
  await third.click('#add-key');
  const jwksLine = await third.inputValue('#cmd');
  const m = /^evident verify env\.json --key (pasted\/key-1\.jwks\.json\.keys\/0[^ ]*\.jwk\.json) --json$/.exec(jwksLine);
  assert.ok(m, `command line for a pasted JWKS: ${jwksLine}`);
  await third.click('#verify');
  await third.waitForSelector('body[data-state="done"]');
  const viaJwks = await third.locator('#json').textContent();
  const layout2 = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-page-jwks-'));
  t.after(() => fs.rmSync(layout2, { recursive: true, force: true }));
  fs.copyFileSync(path.join(dir, 'dsse/env.json'), path.join(layout2, 'env.json'));
  fs.mkdirSync(path.join(layout2, path.dirname(m[1]!)), { recursive: true });
  fs.writeFileSync(path.join(layout2, m[1]!), JSON.stringify(jwk) + '\n');
  const jwksCli = await cli(['env.json', '--key', m[1]!], layout2);
  assert.equal(viaJwks, jwksCli.stdout, 'pasted JWKS = CLI with its key file');
  assert.match(viaJwks ?? '', /"valid":true/);
  // keyboard only: Enter in the command line verifies; the download button is reachable with Tab from there
  await third.evaluate(() => (document.body.dataset.state = 'ready'));
  await third.focus('#cmd');
  await third.keyboard.press('Enter');
  await third.waitForSelector('body[data-state="done"]');
  assert.equal(await third.locator('#json').textContent(), jwksCli.stdout, 'Enter runs the same verification');
  let reached = false;
  for (let i = 0; i < 6 && !reached; i++) {
    await third.keyboard.press('Tab');
    reached = await third.evaluate(() => document.activeElement?.id === 'download');
  }
  assert.ok(reached, 'Tab reaches the download button after the command line');

  // accessibility basics: every control has a label; the result is announced; phone width does not scroll sideways
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea, button'))
      .filter((el: any) => !el.labels?.length && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
      .map((el: any) => el.id || el.outerHTML.slice(0, 60)),
  );
  assert.deepEqual(unlabelled, []);
  assert.ok(((await page.locator('#live').textContent()) ?? '').length > 0, 'the verdict is announced in the live region');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways on a phone by ${overflow}px`);

  if (SCREENSHOTS) {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.setViewportSize({ width: 1100, height: 900 });
    for (const [name, want] of [['valid', true], ['failing', false]] as const) {
      const c = corpus.find((x) => (x.expectExit === 0) === want && x.format.startsWith('eli')) ?? corpus.find((x) => (x.expectExit === 0) === want)!;
      await page.fill('#cmd', ['evident', 'verify', ...c.args, '--json'].map(shq).join(' '));
      await page.click('#verify');
      await page.waitForSelector('body[data-state="done"]');
      await page.evaluate(() => (document.body.dataset.state = 'ready'));
      await page.locator('#results').screenshot({ path: path.join(SCREENSHOTS, `verifier-${name}.png`) });
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, 'verifier-page.png'), fullPage: true });
  }

  assert.deepEqual(errors, [], 'no page errors');
  assert.deepEqual(requests, [], 'the page made no network request');
});

#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` runs it): a clean dist/ from src/, built in a temporary folder and
// swapped in whole (no stale output of moved or deleted modules, never a half-written dist/).
//   1. tsc -p tsconfig.build.json  → dist/**/*.js + .d.ts (the library entry points of package.json `exports`)
//   2. esbuild                     → dist/bin/ (the CLI, bundled per command module: Node's ESM loader costs about
//                                    a millisecond per module file and `evident verify` reaches ~100 of ours)
//   3. dist/build-info.json        → {"commit"}: the git commit built, null outside a git checkout
//   4. scripts/build-page.mjs      → dist/page/verify.html (the offline verifier page, `evident verifier-page`)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { buildPage } from './build-page.mjs';

const require = createRequire(import.meta.url);
const out = `dist.tmp-${process.pid}`;
fs.rmSync(out, { recursive: true, force: true });
process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

await build({
  entryPoints: { evident: 'src/cli/main.ts' },
  outdir: `${out}/bin`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});

let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (!/^[0-9a-f]{40}$/.test(commit)) commit = null;
} catch {
  // an unpacked tarball, or no git: the commit stays unknown
}
fs.writeFileSync(`${out}/build-info.json`, JSON.stringify({ commit }) + '\n');

const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const { html } = await buildPage({ version, commit });
fs.mkdirSync(`${out}/page`, { recursive: true });
fs.writeFileSync(`${out}/page/verify.html`, html);

const old = `dist.old-${process.pid}`;
if (fs.existsSync('dist')) fs.renameSync('dist', old);
fs.renameSync(out, 'dist');
fs.rmSync(old, { recursive: true, force: true, maxRetries: 3 });

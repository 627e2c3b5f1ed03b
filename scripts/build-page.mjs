// The offline verifier page: src/page/main.ts (the same runVerify as `evident verify`) bundled by esbuild for the
// browser into one self-contained HTML file (JS and CSS inline, a CSP that allows no network request at all).
// Node built-ins resolve to the page's shims (src/page/shims/), the kernel's crypto port to its browser
// implementation (src/kernel/crypto/browser.ts). Used by scripts/build.mjs (→ dist/page/verify.html).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shim = (f) => path.join(root, 'src/page/shims', f);

const ALIASES = {
  fs: shim('fs.ts'),
  zlib: shim('zlib.ts'),
  os: shim('os.ts'),
  worker_threads: shim('worker_threads.ts'),
  module: shim('unavailable.ts'),
  async_hooks: shim('unavailable.ts'),
  util: shim('util.ts'),
  crypto: path.join(root, 'src/kernel/crypto/browser.ts'),
  path: 'path-browserify',
  buffer: shim('buffer.ts'),
};

/** esbuild plugin: node built-ins → shims; the crypto port's Node implementation → its browser implementation. */
const browserPlatform = {
  name: 'evident-browser',
  setup(b) {
    b.onResolve({ filter: /^\.\/node\.ts$/ }, (args) => {
      if (!args.importer.endsWith(path.join('src', 'kernel', 'crypto', 'index.ts'))) return undefined;
      return { path: path.join(root, 'src/kernel/crypto/browser.ts') };
    });
    b.onResolve({ filter: new RegExp(`^(node:)?(${Object.keys(ALIASES).join('|')})$`) }, async (args) => {
      const name = args.path.replace(/^node:/, '');
      // the npm package itself, from our Buffer shim or the libraries that import it
      if (name === 'buffer' && !args.path.startsWith('node:') && (args.importer === ALIASES.buffer || args.importer.includes('node_modules'))) return undefined;
      const target = ALIASES[name];
      if (target.startsWith('/')) return { path: target };
      return b.resolve(target, { resolveDir: root, kind: args.kind });
    });
    b.onResolve({ filter: /^(node:[a-z_/]+|better-sqlite3|pg)$/ }, (args) => ({
      errors: [{ text: `${args.path} has no browser shim (imported by ${path.relative(root, args.importer)})` }],
    }));
  },
};

/** Build the page; returns its HTML and sizes. */
export async function buildPage({ version = '0.0.0', commit = null } = {}) {
  const r = await build({
    entryPoints: [path.join(root, 'src/page/main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    inject: [shim('globals.ts')],
    define: { __EVIDENT_VERSION__: JSON.stringify(`v${version}${commit ? ` (${commit.slice(0, 12)})` : ''}`), global: 'globalThis' },
    plugins: [browserPlatform],
    logLevel: 'warning',
    outfile: 'page.js',
  });
  // `</script` may not appear inside the inline script; `<\/script` means the same in strings and regexps
  const js = r.outputFiles[0].text.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
  const css = fs.readFileSync(path.join(root, 'src/page/page.css'), 'utf8');
  const hash = (s) => `sha256-${createHash('sha256').update(s).digest('base64')}`;
  const html = fs
    .readFileSync(path.join(root, 'src/page/index.html'), 'utf8')
    .replace('__SCRIPT_HASH__', hash(js))
    .replace('__STYLE_HASH__', hash(css))
    .replace('__CSS__', () => css)
    .replace('__JS__', () => js);
  return { html, metafile: r.metafile, jsBytes: Buffer.byteLength(js) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? 'verify.html';
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const { html } = await buildPage({ version: pkg.version });
  fs.writeFileSync(out + '.tmp', html);
  fs.renameSync(out + '.tmp', out);
  console.log(`${out}: ${Buffer.byteLength(html)} bytes`);
}

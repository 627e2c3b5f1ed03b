#!/usr/bin/env node
// The evident CLI: runs the compiled, bundled JavaScript in dist/bin/ (built by `npm run build`, which `npm ci`
// runs as `prepare`; scripts/build.mjs says why it is bundled). `--version` alone answers from package.json before
// anything else loads (src/version.ts holds the same string; a test keeps them equal).
import fs from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version + '\n');
} else {
  const { main } = await import('../dist/bin/evident.js');
  await main(process.argv);
}

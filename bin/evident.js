#!/usr/bin/env node
// The evident CLI: runs the compiled, bundled JavaScript in dist/bin/ (built by `npm run build`, which `npm ci`
// runs as `prepare`; scripts/bundle-cli.mjs says why it is bundled).
import { main } from '../dist/bin/evident.js';

await main(process.argv);

#!/usr/bin/env node
// The evident CLI: runs the compiled JavaScript in dist/ (built by `npm run build`, which `npm ci` runs as `prepare`).
import { main } from '../dist/cli/main.js';

await main(process.argv);

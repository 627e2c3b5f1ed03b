#!/usr/bin/env node
// Runs the TypeScript CLI straight from a clone: tsx compiles on load, so `npm ci` is the only set-up step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);

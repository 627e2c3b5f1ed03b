#!/usr/bin/env node
// Writes dist/build-info.json ({"commit"}) after tsc: the git commit of the checkout being built, null outside git.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (!/^[0-9a-f]{40}$/.test(commit)) commit = null;
} catch {
  // not a git checkout (an unpacked tarball) or no git: the commit stays unknown
}
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/build-info.json', JSON.stringify({ commit }) + '\n');

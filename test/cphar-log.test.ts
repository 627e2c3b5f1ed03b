/** CPHAR registry events enter the database's transparency log once `evident log init` has set it up. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openLog } from '../src/log/index.ts';
import { parseJson, toPlain } from '../src/kernel/json/index.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');

test('seal register / revoke append their events to the initialised log', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cphar-log-'));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    const db = `sqlite:${path.join(dir, 'e.db')}`;
    run('keys', 'generate', '--out', path.join(dir, 'logkey'));
    run('keys', 'generate', '--out', path.join(dir, 'seal'));
    run('log', 'init', '--db', db, '--key', path.join(dir, 'logkey/private.pem'), '--origin', 'test.example/cphar');
    const fw = 'sha256:' + 'ab'.repeat(32);
    run('seal', 'register', '--db', db, '--seal', 'seal_A1', '--key', path.join(dir, 'seal/public.pem'), '--firmware', fw, '--lot', 'lot-1');
    run('seal', 'revoke', '--db', db, '--seal', 'seal_A1', '--reason', 'test');
    const log = await openLog({ db });
    try {
      assert.equal(await log.size(), 2);
      const events = await Promise.all([0, 1].map(async (i) => toPlain(parseJson((await log.getEntry(i))!)) as Record<string, unknown>));
      assert.equal(events[0]!.seal_id, 'seal_A1');
      assert.equal(events[1]!.seal_id, 'seal_A1');
      assert.notDeepEqual(events[0], events[1]);
    } finally {
      await log.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

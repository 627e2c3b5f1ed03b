/**
 * Issue #9 "done when": two real `evident serve` processes on one PostgreSQL database and one data directory (so
 * they share the service key ring and the log key). One sequences the log, the other forwards its appends through
 * the database. Receipts are issued through both concurrently; the sequencing process is SIGKILLed mid-load and
 * issuance continues against the survivor. Then: every receipt answered 201 is in the log (GET /v1/receipts/{id} on
 * the survivor, offline verification of its tlog_proof — in process for all, with `evident verify` for a sample),
 * indexes are distinct, the survivor sequences, and every checkpoint seen is consistent with the final one.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { testPostgresUrl } from '../src/store/db.ts';
import { parseVkey } from '../src/kernel/note.ts';
import { openCheckpoint, parseTlogProof, verifyConsistency } from '../src/log/index.ts';
import { parseBase64 } from '../src/kernel/encoding.ts';
import { bytesInput, verifyAny } from '../src/verify/detect.ts';
import { freshPgDatabase } from './pg-fresh.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const PG = testPostgresUrl();
const run = promisify(execFile);

interface Instance {
  child: ChildProcess;
  url: string;
  stderr: string;
  token?: string;
}

function serve(db: string, dataDir: string): Promise<Instance> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const inst: Instance = { child, url: '', stderr: '' };
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${inst.stderr}`)), 60_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      inst.stderr += d;
      const url = /listening on (http:\/\/\S+)/.exec(inst.stderr);
      const tok = /admin token[^:]*: (evt_\S+)/.exec(inst.stderr);
      // the last start-up line: the URL, the log role and (first start only) the admin token are printed before it
      if (url && /^verify an artifact/m.test(inst.stderr) && !inst.url) {
        inst.url = url[1]!;
        inst.token = tok?.[1];
        clearTimeout(timer);
        resolve(inst);
      }
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (!inst.url) reject(new Error(`serve exited ${code}/${sig}: ${inst.stderr}`));
    });
  });
}

const statement = (i: number) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: `takeover-${i}`, digest: { sha256: i.toString(16).padStart(64, '0') } }],
  predicateType: 'https://evident.dev/test/takeover/v1',
  predicate: { n: i },
});

interface Issued {
  via: 'A' | 'B';
  afterKill: boolean;
  receipt: { id: string; log: { index: number }; tlog_proof: string; envelope: unknown };
}

test('two evident serve processes on one PostgreSQL log: SIGKILL the sequencer mid-load, the survivor takes over, no 201 receipt lost', { skip: !PG && 'EVIDENT_TEST_PG not set', timeout: 240_000 }, async () => {
  const fresh = await freshPgDatabase(PG!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-takeover-'));
  let a: Instance | undefined;
  let b: Instance | undefined;
  let stop = false;
  try {
    a = await serve(fresh.url, dir);
    assert.match(a.stderr, /this instance sequences/);
    const token = a.token!;
    assert.ok(token, 'the first start prints the admin token');
    b = await serve(fresh.url, dir);
    assert.match(b.stderr, /forwarding appends/);
    assert.equal(b.token, undefined, 'the admin token is created once (shared database)');
    const logInfo = async (u: string) => (await (await fetch(u + '/v1/log')).json()) as { origin: string; vkey: string; size: number; sequencer: boolean };
    const [ia, ib] = [await logInfo(a.url), await logInfo(b.url)];
    assert.equal(ia.sequencer, true);
    assert.equal(ib.sequencer, false);
    assert.equal(ia.vkey, ib.vkey, 'one log key');
    const kidsA = ((await (await fetch(a.url + '/v1/keys')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const kidsB = ((await (await fetch(b.url + '/v1/keys')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    assert.deepEqual(kidsA, kidsB, 'one service key ring');

    const issued: Issued[] = [];
    const failures = { A: 0, B: 0 };
    const checkpoints = new Set<string>();
    let killed = false;
    let n = 0;
    const worker = async (prefer: 'A' | 'B') => {
      while (!stop) {
        const via = prefer === 'A' && !killed ? 'A' : 'B';
        const u = via === 'A' ? a!.url : b!.url;
        const afterKill = killed;
        try {
          const r = await fetch(u + '/v1/receipts', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ format: 'in-toto', statement: statement(n++) }),
          });
          if (r.status === 201) issued.push({ via, afterKill, receipt: (await r.json()) as Issued['receipt'] });
          else {
            failures[via]++;
            await r.arrayBuffer();
          }
        } catch {
          failures[via]++; // connection refused/reset at the killed instance
        }
      }
    };
    const sampler = async () => {
      while (!stop) {
        for (const u of killed ? [b!.url] : [a!.url, b!.url]) {
          try {
            const r = await fetch(u + '/checkpoint');
            if (r.status === 200) checkpoints.add(await r.text());
          } catch {
            // the killed instance
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const load = Promise.all([...Array.from({ length: 6 }, () => worker('A')), ...Array.from({ length: 6 }, () => worker('B')), sampler()]);
    // load through both, then SIGKILL the sequencer mid-load
    const t0 = Date.now();
    while (issued.filter((x) => x.via === 'B').length < 100 || issued.filter((x) => x.via === 'A').length < 100) {
      assert.ok(Date.now() - t0 < 60_000, 'load through both instances');
      await new Promise((r) => setTimeout(r, 20));
    }
    a.child.kill('SIGKILL');
    killed = true;
    const killedAt = issued.length;
    // keep issuing against the survivor; it must take over
    const t1 = Date.now();
    while (!(await logInfo(b.url)).sequencer) {
      assert.ok(Date.now() - t1 < 10_000, 'the survivor takes over within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const takeoverMs = Date.now() - t1;
    while (issued.filter((x) => x.afterKill).length < 200) {
      assert.ok(Date.now() - t1 < 60_000, 'issuance continues on the survivor');
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await load;
    await new Promise<void>((r) => (a!.child.exitCode !== null || a!.child.signalCode !== null ? r() : a!.child.once('exit', () => r())));

    const final = await logInfo(b.url);
    assert.equal(final.sequencer, true);
    const byVia = { A: issued.filter((x) => x.via === 'A').length, B: issued.filter((x) => x.via === 'B' && !x.afterKill).length, after: issued.filter((x) => x.afterKill).length };
    process.stdout.write(`# take-over: ${issued.length} receipts answered 201 (A before kill ${byVia.A}, B before kill ${byVia.B}, B after kill ${byVia.after}); ${killedAt} issued when A was killed; failed requests A ${failures.A}, B ${failures.B}; survivor sequencing ${takeoverMs} ms after the kill was observed; final size ${final.size}\n`);
    assert.equal(failures.B, 0, 'the survivor never failed a request');
    assert.ok(byVia.B > 0 && byVia.after > 0 && byVia.A > 0);

    // every 201 receipt is in the log: distinct indexes, fetchable from the survivor, same envelope and index
    const indexes = new Set(issued.map((x) => x.receipt.log.index));
    assert.equal(indexes.size, issued.length, 'distinct log indexes');
    assert.ok(final.size >= issued.length);
    const keys = ((await (await fetch(b.url + '/v1/keys')).json()) as { keys: Array<{ kid: string; public_key_pem: string }> }).keys;
    const pem = keys[0]!.public_key_pem;
    const verifier = parseVkey(final.vkey);
    const finalCp = openCheckpoint(await (await fetch(b.url + '/checkpoint')).text(), verifier);
    for (const x of issued) checkpoints.add(parseTlogProof(x.receipt.tlog_proof).checkpoint);
    const fetched: Issued['receipt'][] = [];
    for (let i = 0; i < issued.length; i += 32) {
      fetched.push(
        ...(await Promise.all(
          issued.slice(i, i + 32).map(async (x) => {
            const r = await fetch(`${b!.url}/v1/receipts/${x.receipt.id}`);
            assert.equal(r.status, 200, `receipt ${x.receipt.id} (via ${x.via}${x.afterKill ? ', after the kill' : ''}) is in the log`);
            const g = (await r.json()) as Issued['receipt'];
            assert.equal(g.log.index, x.receipt.log.index);
            assert.deepEqual(g.envelope, x.receipt.envelope);
            return g;
          }),
        )),
      );
    }
    // offline verification, in process, of every receipt as answered and as fetched from the survivor
    for (const r of [...issued.map((x) => x.receipt), ...fetched]) {
      const rep = (await verifyAny(bytesInput(Buffer.from(JSON.stringify(r))), { mode: 'strict', keys: [pem], logKey: final.vkey })).toJSON();
      assert.equal(rep.valid, true, JSON.stringify(rep));
    }
    // and with the CLI (`evident verify FILE --key ISSUER.pem --log-key VKEY`) for a sample across the three phases
    fs.writeFileSync(path.join(dir, 'issuer.pem'), pem);
    const sample = [
      ...issued.filter((x) => x.via === 'A').slice(-4),
      ...issued.filter((x) => x.via === 'B' && !x.afterKill).slice(-4),
      ...issued.filter((x) => x.afterKill).slice(0, 4),
    ];
    await Promise.all(
      sample.map(async (x, i) => {
        const f = path.join(dir, `receipt-${i}.json`);
        fs.writeFileSync(f, JSON.stringify(x.receipt));
        const { stdout } = await run(process.execPath, [BIN, 'verify', f, '--key', path.join(dir, 'issuer.pem'), '--log-key', final.vkey, '--json'], { timeout: 60_000 });
        const rep = JSON.parse(stdout) as { valid: boolean; exitCode: number };
        assert.equal(rep.exitCode, 0, stdout);
      }),
    );

    // every checkpoint seen (receipts' proofs, /checkpoint on both instances) is consistent with the final one
    let consistent = 0;
    for (const note of checkpoints) {
      const cp = openCheckpoint(note, verifier);
      assert.ok(cp.size <= finalCp.size);
      if (cp.size === finalCp.size || cp.size === 0) {
        if (cp.size === finalCp.size) assert.deepEqual(cp.rootHash, finalCp.rootHash);
        continue;
      }
      const proof = (await (await fetch(`${b.url}/v1/log/consistency?from=${cp.size}&to=${finalCp.size}`)).json()) as { proof: string[] };
      assert.ok(verifyConsistency(cp.size, finalCp.size, proof.proof.map((p) => parseBase64(p)), cp.rootHash, finalCp.rootHash), `checkpoint ${cp.size} consistent with ${finalCp.size}`);
      consistent++;
    }
    process.stdout.write(`# ${checkpoints.size} distinct checkpoints seen, ${consistent} consistency proofs verified against size ${finalCp.size}; CLI verified ${sample.length} receipts, in-process ${issued.length * 2}\n`);
  } finally {
    stop = true;
    a?.child.kill('SIGKILL');
    if (b) {
      const exited = new Promise((r) => b!.child.once('exit', r));
      b.child.kill('SIGTERM');
      await exited;
    }
    await fresh.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('two evident serve processes started at the same moment on an empty data directory and database: both start, with one log key, one key ring and one admin token', { skip: !PG && 'EVIDENT_TEST_PG not set', timeout: 120_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const fresh = await freshPgDatabase(PG!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-samestart-'));
    const started: Instance[] = [];
    try {
      const both = await Promise.allSettled([serve(fresh.url, dir), serve(fresh.url, dir)]);
      for (const r of both) if (r.status === 'fulfilled') started.push(r.value);
      for (const r of both) if (r.status === 'rejected') throw r.reason;
      const [a, b] = started as [Instance, Instance];
      const info = async (u: string) => (await (await fetch(u + '/v1/log')).json()) as { vkey: string; sequencer: boolean };
      const [ia, ib] = [await info(a.url), await info(b.url)];
      assert.equal(ia.vkey, ib.vkey, 'one log key');
      assert.equal(Number(ia.sequencer) + Number(ib.sequencer), 1, 'exactly one instance sequences');
      const kids = async (u: string) => ((await (await fetch(u + '/v1/keys')).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
      assert.deepEqual(await kids(a.url), await kids(b.url), 'one service key ring');
      const printed = [a.token, b.token].filter((t) => t !== undefined);
      assert.equal(printed.length, 1, 'exactly one instance creates and prints the admin token');
      for (const i of [a, b]) {
        const r = await fetch(i.url + '/v1/tokens', { method: 'POST', headers: { authorization: `Bearer ${printed[0]}`, 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['issue'] }) });
        assert.equal(r.status, 201, 'the printed admin token works on either instance');
      }
      // the log key file on disk is the key both instances sign with
      const vkeyFile = fs.readFileSync(path.join(dir, 'keys', 'log', 'public.pem'), 'utf8');
      assert.ok(vkeyFile.includes('BEGIN PUBLIC KEY'));
      assert.deepEqual(fs.readdirSync(path.join(dir, 'keys', 'log')).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
    } finally {
      for (const i of started) {
        const exited = new Promise((r) => i.child.once('exit', r));
        i.child.kill('SIGTERM');
        await exited;
      }
      await fresh.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

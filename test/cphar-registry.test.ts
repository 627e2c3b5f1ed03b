/**
 * CPHAR registry + nonce store + verifier on SQLite and PostgreSQL (same code paths). PostgreSQL runs when
 * EVIDENT_TEST_PG is set (tables use a per-run `cphar_t<pid>_` prefix and are dropped afterwards).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair } from '../src/kernel/keys.ts';
import { openDb, testPostgresUrl, type DbHandle } from '../src/store/db.ts';
import { Registry } from '../src/profiles/cphar/registry.ts';
import { DbNonceStore } from '../src/profiles/cphar/nonces.ts';
import { makeChallenge, signAttestation, formatTime } from '../src/profiles/cphar/messages.ts';
import { verifyAttestation, verifyToReport, type VerifyContext } from '../src/profiles/cphar/verify.ts';
import { sqlFor } from '../src/store/sql.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-cphar-reg-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const FW = 'sha256:' + '11'.repeat(32);
const FW2 = 'sha256:' + '22'.repeat(32);
const T0 = Date.parse('2026-05-16T12:00:00Z');

interface Backend {
  name: string;
  open(): Promise<DbHandle>;
  reopen(h: DbHandle): Promise<DbHandle>;
  prefix: string;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    prefix: 'cphar_',
    open: () => openDb(`sqlite:${path.join(tmp, 'reg.db')}`),
    async reopen(h) {
      await h.close();
      return openDb(`sqlite:${path.join(tmp, 'reg.db')}`);
    },
  },
];
const pgUrl = testPostgresUrl();
if (pgUrl) {
  backends.push({
    name: 'postgres',
    prefix: `cphar_t${process.pid}_`,
    open: () => openDb(pgUrl),
    async reopen(h) {
      await h.close();
      return openDb(pgUrl);
    },
  });
}

for (const be of backends) {
  test(`${be.name}: registry lifecycle, events, snapshots, lot binding, verification reasons, replay across restart`, async () => {
    let h = await be.open();
    const logged: Uint8Array[] = [];
    const appendToLog = async (e: Uint8Array) => void logged.push(e);
    let clock = T0;
    let reg = await Registry.open(h, { prefix: be.prefix, appendToLog, now: () => clock });
    let nonces = await DbNonceStore.open(h, { prefix: be.prefix });
    try {
      const k1 = generateKeyPair('ed25519');
      const k2 = generateKeyPair('es256');
      const k3 = generateKeyPair('ed25519');
      // register / lifecycle
      const s1 = await reg.register({ sealId: 'seal_A', publicKey: k1.publicKey, firmware: [FW], lot: 'lot-1' });
      assert.equal(s1.state, 'Registered');
      assert.equal(s1.alg, 'Ed25519');
      await assert.rejects(reg.register({ sealId: 'seal_A', publicKey: k1.publicKey, firmware: [FW] }), { code: 'SEAL_EXISTS' });
      // lot double-binding rejected (a second non-terminal seal on lot-1)
      await assert.rejects(reg.register({ sealId: 'seal_B', publicKey: k2.publicKey, firmware: [FW], lot: 'lot-1' }), { code: 'LOT_ALREADY_BOUND' });
      assert.equal(await reg.get('seal_B'), undefined, 'rejected registration left no row');
      await assert.rejects(reg.transition('seal_A', 'Sealed'), { code: 'TRANSITION_INVALID' });
      await reg.transition('seal_A', 'Inspected');
      await reg.transition('seal_A', 'Sealed');
      await reg.register({ sealId: 'seal_B', publicKey: k2.publicKey, firmware: [FW, FW2], lot: 'lot-2' });
      await reg.transition('seal_B', 'Inspected');
      await reg.transition('seal_B', 'Sealed');
      await reg.register({ sealId: 'seal_C', publicKey: k3.publicKey, firmware: [FW] });
      await reg.transition('seal_C', 'Inspected');
      await reg.transition('seal_C', 'Sealed');
      await assert.rejects(reg.transition('seal_nope', 'Sealed'), { code: 'SEAL_UNKNOWN' });

      const ctx = (over: Partial<VerifyContext> = {}): VerifyContext => ({ seals: reg, nonces, now: clock, ...over });
      const attest = (sealId: string, key = k1.privateKey, fw = FW, o: { domain?: string; now?: number } = {}) => {
        const c = makeChallenge(sealId, { now: o.now ?? clock, domain: o.domain });
        return { c, a: signAttestation(c, key, fw) };
      };

      // valid (Ed25519 and ES256), then replay
      const v1 = attest('seal_A');
      assert.equal((await verifyAttestation(v1.c, v1.a, ctx())).ok, true);
      assert.equal((await verifyAttestation(v1.c, v1.a, ctx())).reason, 'REPLAY');
      const v2 = attest('seal_B', k2.privateKey, FW2);
      assert.equal((await verifyAttestation(v2.c, v2.a, ctx())).ok, true);

      // replay across a restart (new handle, new store objects, same DB)
      const v3 = attest('seal_A');
      assert.equal((await verifyAttestation(v3.c, v3.a, ctx())).ok, true);
      h = await be.reopen(h);
      reg = await Registry.open(h, { prefix: be.prefix, appendToLog, now: () => clock });
      nonces = await DbNonceStore.open(h, { prefix: be.prefix });
      assert.equal((await verifyAttestation(v3.c, v3.a, ctx())).reason, 'REPLAY');

      // stale / future-dated / slow
      const old = attest('seal_A', k1.privateKey, FW, { now: clock - 61_000 });
      assert.equal((await verifyAttestation(old.c, old.a, ctx())).reason, 'STALE');
      const fut = attest('seal_A', k1.privateKey, FW, { now: clock + 6_000 });
      assert.equal((await verifyAttestation(fut.c, fut.a, ctx())).reason, 'TIMESTAMP_IN_FUTURE');
      const skew = attest('seal_A', k1.privateKey, FW, { now: clock + 4_000 });
      assert.equal((await verifyAttestation(skew.c, skew.a, ctx())).ok, true, 'within 5 s skew allowance');
      const cfg = attest('seal_A', k1.privateKey, FW, { now: clock - 20_000 });
      assert.equal((await verifyAttestation(cfg.c, cfg.a, ctx({ windows: { maxTimestampAgeMs: 10_000 } }))).reason, 'STALE', 'configurable window');

      // wrong domain / wrong seal / wrong key / swapped firmware
      const dom = attest('seal_A', k1.privateKey, FW, { domain: 'example.org' });
      assert.equal((await verifyAttestation(dom.c, dom.a, ctx())).reason, 'DOMAIN_MISMATCH');
      const ws = attest('seal_A');
      assert.equal((await verifyAttestation(ws.c, { ...ws.a, seal_id: 'seal_C' }, ctx())).reason, 'SEAL_ID_MISMATCH');
      const wk = attest('seal_A', k3.privateKey);
      assert.equal((await verifyAttestation(wk.c, wk.a, ctx())).reason, 'SIGNATURE_INVALID');
      const fw = attest('seal_A', k1.privateKey, FW2);
      assert.equal((await verifyAttestation(fw.c, fw.a, ctx())).reason, 'FIRMWARE_MISMATCH');
      const swapped = attest('seal_A');
      assert.equal((await verifyAttestation(swapped.c, { ...swapped.a, firmware_measurement: FW2 }, ctx())).reason, 'SIGNATURE_INVALID', 'firmware is signed');
      // a forged response did not burn the nonce: the genuine answer still verifies
      assert.equal((await verifyAttestation(swapped.c, swapped.a, ctx())).ok, true);

      // issued nonces: unknown / expired / issued for another seal
      const iss = makeChallenge('seal_A', { now: clock });
      await nonces.issue(iss.nonce, 'seal_A', clock, clock + 300_000);
      const strict = ctx({ requireIssuedNonce: true });
      const unknown = attest('seal_A');
      assert.equal((await verifyAttestation(unknown.c, unknown.a, strict)).reason, 'NONCE_UNKNOWN');
      assert.equal((await verifyAttestation(iss, signAttestation(iss, k1.privateKey, FW), strict)).ok, true);
      assert.equal((await verifyAttestation(iss, signAttestation(iss, k1.privateKey, FW), strict)).reason, 'REPLAY');
      const exp = makeChallenge('seal_A', { now: clock });
      await nonces.issue(exp.nonce, 'seal_A', clock - 1000, clock - 1);
      assert.equal((await verifyAttestation(exp, signAttestation(exp, k1.privateKey, FW), strict)).reason, 'NONCE_EXPIRED');

      // Sealed ⇄ Attested stays active
      await reg.transition('seal_A', 'Attested');
      const at = attest('seal_A');
      assert.equal((await verifyAttestation(at.c, at.a, ctx())).ok, true);
      await reg.transition('seal_A', 'Sealed');

      // revoked / retired / broken / unknown
      const beforeRevoke = attest('seal_A');
      await reg.revoke('seal_A', 'key compromise');
      const rv = await verifyToReport(beforeRevoke.c, beforeRevoke.a, ctx());
      assert.equal(rv.result.reason, 'SEAL_REVOKED');
      assert.equal(rv.report.exitCode, 4);
      await assert.rejects(reg.transition('seal_A', 'Sealed'), { code: 'TRANSITION_INVALID' }, 'revocation is terminal');
      await reg.transition('seal_B', 'Retired');
      const rt = attest('seal_B', k2.privateKey);
      assert.equal((await verifyAttestation(rt.c, rt.a, ctx())).reason, 'SEAL_RETIRED');
      await reg.transition('seal_C', 'Broken');
      const br = attest('seal_C', k3.privateKey);
      assert.equal((await verifyAttestation(br.c, br.a, ctx())).reason, 'SEAL_BROKEN');
      const un = attest('seal_ZZZ');
      assert.equal((await verifyAttestation(un.c, un.a, ctx())).reason, 'SEAL_UNKNOWN');

      // lot-1 is free again after revocation of seal_A: a new seal may bind it
      await reg.register({ sealId: 'seal_D', publicKey: k3.publicKey, firmware: [FW], lot: 'lot-1' });
      await assert.rejects(reg.register({ sealId: 'seal_E', publicKey: k3.publicKey, firmware: [FW], lot: 'lot-1' }), { code: 'LOT_ALREADY_BOUND' });

      // append-only events, each one logged
      const evs = await reg.events();
      assert.deepEqual(evs.map((e) => e.seq), evs.map((_, i) => i + 1));
      assert.equal(evs.filter((e) => e.seal_id === 'seal_A').map((e) => e.to).join(','), 'Registered,Inspected,Sealed,Attested,Sealed,Revoked');
      assert.equal(evs.find((e) => e.event === 'revoke')!.data.reason, 'key compromise');
      const eventLogs = logged.map((b) => JSON.parse(Buffer.from(b).toString('utf8'))).filter((e) => e.type === 'cphar.registry.event');
      assert.equal(eventLogs.length, evs.length, 'every registry event entered the log');

      // content-addressed snapshots: same content → same digest, change → new digest
      clock += 1000;
      const sn1 = await reg.snapshot();
      const sn2 = await reg.snapshot();
      assert.equal(sn1.digest, sn2.digest);
      assert.match(sn1.digest, /^sha256:[0-9a-f]{64}$/);
      assert.equal(await reg.getSnapshot(sn1.digest), sn1.body);
      await reg.transition('seal_D', 'Inspected');
      const sn3 = await reg.snapshot();
      assert.notEqual(sn3.digest, sn1.digest);
      assert.equal(JSON.parse(sn3.body).seals.length, 4);
      assert.equal(formatTime(T0), '2026-05-16T12:00:00Z');
    } finally {
      await reg.drop();
      await sqlFor(h).exec(`DROP TABLE IF EXISTS ${be.prefix}nonces`);
      await h.close();
    }
  });

  test(`${be.name}: concurrent consumers of one nonce — exactly one wins`, async () => {
    const h = await be.open();
    const p = `${be.prefix}cc_`;
    const stores = await Promise.all([DbNonceStore.open(h, { prefix: p }), DbNonceStore.open(h, { prefix: p })]);
    try {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 2]!.consume('nonce-xyz-0123456789abcdef', T0)));
      assert.equal(results.filter((r) => r.status === 'OK').length, 1);
      assert.equal(results.filter((r) => r.status === 'REPLAY').length, 7);
    } finally {
      await sqlFor(h).exec(`DROP TABLE IF EXISTS ${p}nonces`);
      await h.close();
    }
  });
}

test('sqlite: statements from outside an open transaction wait for it (a rollback never undoes them); nested use inside runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-sqltx-'));
  const h = await openDb(`sqlite:${path.join(dir, 't.db')}`);
  try {
    const a = sqlFor(h);
    const b = sqlFor(h);
    await a.exec('CREATE TABLE t (v TEXT)');
    let outside: Promise<number> | undefined;
    // another caller on the same connection (e.g. another request), arriving while the transaction is open
    const timer = setTimeout(() => (outside = b.run('INSERT INTO t VALUES (?)', ['outside'])), 5);
    await assert.rejects(
      a.tx(async (t) => {
        await t.run('INSERT INTO t VALUES (?)', ['in-tx']);
        await new Promise((r) => setTimeout(r, 30)); // the body awaits real I/O
        await b.run('INSERT INTO t VALUES (?)', ['nested']); // same async context: part of the transaction
        throw new Error('roll back');
      }),
      /roll back/,
    );
    clearTimeout(timer);
    assert.ok(outside);
    await outside;
    assert.deepEqual((await a.all<{ v: string }>('SELECT v FROM t ORDER BY v')).map((r) => r.v), ['outside']);
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: the transaction scope is switched off between transactions and back on, and overlapping transactions on two databases keep theirs', async () => {
  // (the scope is an AsyncLocalStorage, disabled whenever no transaction body runs: left on, it slowed every
  // promise of the process about 3x after the first transaction)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-sqltx2-'));
  const h1 = await openDb(`sqlite:${path.join(dir, 'one.db')}`);
  const h2 = await openDb(`sqlite:${path.join(dir, 'two.db')}`);
  try {
    const [a1, b1, a2, b2] = [sqlFor(h1), sqlFor(h1), sqlFor(h2), sqlFor(h2)];
    await a1.exec('CREATE TABLE t (v TEXT)');
    await a2.exec('CREATE TABLE t (v TEXT)');
    let releaseA!: () => void;
    const aWaits = new Promise<void>((r) => (releaseA = r));
    let bStarted!: () => void;
    const bIn = new Promise<void>((r) => (bStarted = r));
    const txA = a1.tx(async (t) => {
      await t.run('INSERT INTO t VALUES (?)', ['a']);
      await aWaits;
    });
    const txB = assert.rejects(
      a2.tx(async () => {
        bStarted();
        await txA; // A commits (its scope closes) while B's body is still running
        await b2.run('INSERT INTO t VALUES (?)', ['nested-b']); // still inside B: rolled back with it
        throw new Error('roll back B');
      }),
      /roll back B/,
    );
    await bIn;
    releaseA();
    await txB;
    assert.deepEqual((await a2.all<{ v: string }>('SELECT v FROM t')).map((r) => r.v), []);
    assert.deepEqual((await a1.all<{ v: string }>('SELECT v FROM t')).map((r) => r.v), ['a']);
    // after every scope closed: a new transaction's body is recognised as inside again
    await assert.rejects(
      a1.tx(async () => {
        await new Promise((r) => setTimeout(r, 5));
        await b1.run('INSERT INTO t VALUES (?)', ['nested-again']);
        throw new Error('roll back again');
      }),
      /roll back again/,
    );
    assert.deepEqual((await a1.all<{ v: string }>('SELECT v FROM t')).map((r) => r.v), ['a']);
  } finally {
    await h1.close();
    await h2.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The browser-verifier corpus: artifacts of every format `evident verify` auto-detects, built in an empty directory,
 * and the `evident verify` argument lists (paths relative to that directory) with the CLI's exit code and report
 * format. The offline HTML verifier page must print, for every case, exactly the CLI's `--json` stdout.
 *
 * Built with the CLI (keys generate, sign, log init/append/prove, hashmatch sign, wcp scaffold/sign, eli issue,
 * seal register/challenge/respond, h4mk build, engine attest) and, where the CLI needs a server, the library
 * (an in-process service for evident receipts v1/v2, an in-process witness for cosigned checkpoints), plus copies of
 * the shared vectors (../shared/vectors: HashMatch, ELI, CDIL, H4, WCP, Sigstore conformance).
 *
 * Every case is offline and deterministic: no --db, no stdin, no absolute paths, and a fixed --now wherever the
 * verdict depends on the clock. Build-only state (log and seal databases) lives outside `dir`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { startService } from '../../src/server/service.ts';
import { parseEliJson, prettyPacket } from '../../src/profiles/eli/c14n.ts';
import { formatVkey, noteSigner, parseVkey, NOTE_SIG_COSIGNATURE_V1 } from '../../src/kernel/note.ts';
import { Witness, formatAddCheckpoint } from '../../src/log/witness/protocol.ts';
import { SqlWitnessStore } from '../../src/log/witness/state.ts';
import { loadPrivateKey } from '../../src/store/keyfiles.ts';

export interface CorpusCase {
  name: string;
  /** argv after `verify`, without --json; every path relative to the corpus dir (the cwd). */
  args: string[];
  /** the CLI's exit code for this case (0, 1, 2, 3, 4, 10) */
  expectExit: number;
  /** the report format the CLI gives */
  format: string;
  /** environment variables the command runs with (the page's command line sets them as NAME=value prefixes) */
  env?: Record<string, string>;
}

const BIN = path.resolve(import.meta.dirname, '../../bin/evident.js');
const VEC = path.resolve(import.meta.dirname, '../../../shared/vectors');
const SIG = path.join(VEC, 'sigstore-conformance');
const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const FW = 'sha256:' + '11'.repeat(32);

/** Build every artifact in `dir` (an empty directory) and return the cases. */
export async function buildCorpus(dir: string): Promise<CorpusCase[]> {
  const cases: CorpusCase[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-corpus-build-'));
  const p = (rel: string) => path.join(dir, rel);
  const write = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
    fs.writeFileSync(p(rel), data);
  };
  const read = (rel: string) => fs.readFileSync(p(rel), 'utf8');
  const copy = (src: string, rel: string) => fs.cpSync(src, p(rel), { recursive: true });
  const cli = (args: string[], opts: { input?: string; env?: Record<string, string>; ok?: boolean } = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input: opts.input, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...opts.env } });
    if (opts.ok !== false && r.status !== 0) throw new Error(`corpus build: evident ${args.join(' ')} → ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const add = (name: string, format: string, expectExit: number, args: string[], env?: Record<string, string>) => {
    if (cases.some((c) => c.name === name)) throw new Error(`duplicate corpus case ${name}`);
    cases.push(env ? { name, args, expectExit, format, env } : { name, args, expectExit, format });
  };

  try {
    // ---------- keys ----------
    cli(['keys', 'generate', '--alg', 'ed25519', '--out', 'keys/a']);
    cli(['keys', 'generate', '--alg', 'ed25519', '--out', 'keys/b']);
    cli(['keys', 'generate', '--alg', 'es256', '--out', 'keys/es']);
    write('keys/missing-dir/.keep', '');
    cli(['keys', 'trust', 'add', 'keys/a/public.pem', '--trust', 'keys/trust-a.json']);
    cli(['keys', 'trust', 'add', 'keys/b/public.pem', '--trust', 'keys/trust-b.json']);

    // ---------- DSSE / in-toto ----------
    write('dsse/a.txt', 'the covered artifact\n');
    const aSha = createHash('sha256').update('the covered artifact\n').digest('hex');
    write('dsse/stmt.json', JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a.txt', digest: { sha256: aSha } }], predicateType: 'https://evident.dev/corpus/v1', predicate: { n: 1 } }));
    const env = cli(['sign', '--key', 'keys/a/private.pem', '--dsse', 'application/vnd.in-toto+json', 'dsse/stmt.json']);
    write('dsse/env.json', env);
    write('dsse/env-es.json', cli(['sign', '--key', 'keys/es/private.pem', '--dsse', 'application/vnd.in-toto+json', 'dsse/stmt.json']));
    const e = JSON.parse(env);
    const pay = Buffer.from(e.payload, 'base64');
    pay[5]! ^= 1;
    write('dsse/env-tampered.json', JSON.stringify({ ...e, payload: pay.toString('base64') }));
    write('dsse/env-dup.json', env.replace('"payloadType"', '"payloadType": "x", "payloadType"'));
    write('dsse/env-trunc.json', env.slice(0, Math.floor(env.length / 2)));
    write('dsse/other.txt', 'not the covered artifact\n');
    add('dsse/valid', 'dsse', 0, ['dsse/env.json', '--key', 'keys/a/public.pem']);
    add('dsse/valid-artifact', 'dsse', 0, ['dsse/env.json', '--key', 'keys/a/public.pem', '--artifact', 'dsse/a.txt']);
    add('dsse/valid-trust', 'dsse', 0, ['dsse/env.json', '--trust', 'keys/trust-a.json']);
    add('dsse/valid-es256-jwk', 'dsse', 0, ['dsse/env-es.json', '--key', 'keys/es/public.jwk']);
    add('dsse/compat', 'dsse', 0, ['dsse/env.json', '--key', 'keys/a/public.pem', '--mode', 'compat']);
    add('dsse/tampered-payload', 'dsse', 3, ['dsse/env-tampered.json', '--key', 'keys/a/public.pem']);
    add('dsse/wrong-key', 'dsse', 3, ['dsse/env.json', '--key', 'keys/b/public.pem']);
    add('dsse/no-key', 'dsse', 4, ['dsse/env.json']);
    add('dsse/untrusted-store', 'dsse', 4, ['dsse/env.json', '--trust', 'keys/trust-b.json']);
    add('dsse/missing-key-file', 'dsse', 4, ['dsse/env.json', '--key', 'keys/missing-dir/nope.pem']);
    add('dsse/wrong-artifact', 'dsse', 2, ['dsse/env.json', '--key', 'keys/a/public.pem', '--artifact', 'dsse/other.txt']);
    add('unknown/dsse-duplicate-keys', 'unknown', 10, ['dsse/env-dup.json', '--key', 'keys/a/public.pem']);
    add('unknown/truncated-json', 'unknown', 10, ['dsse/env-trunc.json', '--key', 'keys/a/public.pem']);
    add('dsse/forced-format-truncated', 'dsse', 10, ['dsse/env-trunc.json', '--format', 'dsse', '--key', 'keys/a/public.pem']);

    // ---------- signed notes ----------
    write('note/note.txt', cli(['sign', '--key', 'keys/a/private.pem', '--note', '--name', 'example.com/corpus-note', '-'], { input: 'example.com/corpus-note\n42\nAAAA\n' }));
    write('note/note-tampered.txt', read('note/note.txt').replace('\n42\n', '\n43\n'));
    const noteVkey = cli(['keys', 'id', 'keys/a/public.pem', '--vkey', 'example.com/corpus-note']).trim().split('\n')[1]!;
    write('note/vkey.txt', noteVkey + '\n');
    add('signed-note/valid', 'signed-note', 0, ['note/note.txt', '--key', 'keys/a/public.pem']);
    add('signed-note/valid-vkey', 'signed-note', 0, ['note/note.txt', '--key', 'note/vkey.txt']);
    add('signed-note/tampered', 'signed-note', 3, ['note/note-tampered.txt', '--key', 'keys/a/public.pem']);
    add('signed-note/unknown-key', 'signed-note', 4, ['note/note.txt', '--key', 'keys/b/public.pem']);

    // ---------- transparency log: checkpoints, tlog-proofs, witness cosignatures ----------
    const db = `sqlite:${path.join(scratch, 'log.db')}`;
    const origin = 'example.com/corpus-log';
    const logVkey = cli(['log', 'init', '--db', db, '--key', 'keys/a/private.pem', '--origin', origin]).trim();
    write('log/log.vkey', logVkey + '\n');
    for (let i = 0; i < 5; i++) write(`log/f${i}.txt`, `file number ${i}\n`);
    cli(['log', 'append', '--db', db, 'log/f0.txt', 'log/f1.txt']);
    cli(['log', 'append', '--db', db, 'log/f2.txt', 'log/f3.txt', 'log/f4.txt']);
    cli(['log', 'prove', '--db', db, '--index', '3', '--out', 'log/e3.tlog-proof']);
    cli(['log', 'prove', '--db', db, '--index', '1', '--size', '2', '--out', 'log/e1-size2.tlog-proof']);
    cli(['log', 'prove', '--db', db, '--index', '2', '--no-extra', '--out', 'log/e2-noextra.tlog-proof']);
    const leaf2 = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from('file number 2\n')])).digest('hex');
    const proof = read('log/e3.tlog-proof');
    const lines = proof.split('\n');
    const pathLine = lines.findIndex((l, i) => i > 2 && l.length === 44);
    const bad = lines.slice();
    const h = Buffer.from(bad[pathLine]!, 'base64');
    h[0]! ^= 1;
    bad[pathLine] = h.toString('base64');
    write('log/bad-path.tlog-proof', bad.join('\n'));
    write('log/bad-index.tlog-proof', proof.replace(/^index 3$/m, 'index 2'));
    const split = proof.indexOf('\n\n');
    const cpLines = proof.slice(split + 2).split('\n');
    const root = Buffer.from(cpLines[2]!, 'base64');
    root[0]! ^= 1;
    cpLines[2] = root.toString('base64');
    write('log/bad-sig.tlog-proof', proof.slice(0, split + 2) + cpLines.join('\n'));
    write('log/garbage.tlog-proof', 'c2sp.org/tlog-proof@v1\nindex x\n\nnot a note\n');
    const checkpoint = cli(['log', 'checkpoint', '--db', db]);
    write('log/checkpoint.txt', checkpoint);
    const cpl = checkpoint.split('\n');
    const r2 = Buffer.from(cpl[2]!, 'base64');
    r2[0]! ^= 1;
    cpl[2] = r2.toString('base64');
    write('log/checkpoint-tampered.txt', cpl.join('\n'));

    // a witness cosigns the log's checkpoint (in process, fixed time)
    cli(['keys', 'generate', '--alg', 'ed25519', '--out', 'keys/w']);
    cli(['keys', 'generate', '--alg', 'ed25519', '--out', 'keys/w2']);
    const wKey = loadPrivateKey(p('keys/w/private.pem'));
    const w2Key = loadPrivateKey(p('keys/w2/private.pem'));
    write('log/witness.vkey', formatVkey('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1) + '\n');
    write('log/witness2.vkey', formatVkey('witness.example/w2', w2Key, NOTE_SIG_COSIGNATURE_V1) + '\n');
    const store = await SqlWitnessStore.open('sqlite::memory:');
    try {
      const w = new Witness(noteSigner('witness.example/w1', wKey, NOTE_SIG_COSIGNATURE_V1), [parseVkey(logVkey)], store, () => 1_790_000_000);
      const r = await w.addCheckpoint(formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint }));
      if (r.status !== 200) throw new Error(`corpus build: witness ${r.status} ${r.body}`);
      write('log/checkpoint-cosigned.txt', checkpoint + r.body);
      const full = cli(['log', 'prove', '--db', db, '--index', '4']);
      write('log/e4-cosigned.tlog-proof', full + r.body);
      const sig = /^(\u2014 \S+ )(\S+)\n$/.exec(r.body)!;
      const raw = Buffer.from(sig[2]!, 'base64');
      raw[raw.length - 1]! ^= 1;
      write('log/checkpoint-badcosig.txt', checkpoint + sig[1] + raw.toString('base64') + '\n');
    } finally {
      await store.close();
    }

    add('tlog-proof/valid', 'tlog-proof', 0, ['log/e3.tlog-proof', '--log-key', logVkey]);
    add('tlog-proof/valid-vkey-file', 'tlog-proof', 0, ['log/e3.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/valid-pem', 'tlog-proof', 0, ['log/e3.tlog-proof', '--log-key', 'keys/a/public.pem']);
    add('tlog-proof/valid-earlier-size', 'tlog-proof', 0, ['log/e1-size2.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/valid-entry', 'tlog-proof', 0, ['log/e2-noextra.tlog-proof', '--log-key', 'log/log.vkey', '--entry', 'log/f2.txt']);
    add('tlog-proof/valid-leaf-hash', 'tlog-proof', 0, ['log/e2-noextra.tlog-proof', '--log-key', 'log/log.vkey', '--leaf-hash', leaf2]);
    add('tlog-proof/valid-witness', 'tlog-proof', 0, ['log/e4-cosigned.tlog-proof', '--log-key', 'log/log.vkey', '--witness', 'log/witness.vkey']);
    add('tlog-proof/witness-missing', 'tlog-proof', 1, ['log/e3.tlog-proof', '--log-key', 'log/log.vkey', '--witness', 'log/witness.vkey']);
    add('tlog-proof/wrong-entry', 'tlog-proof', 2, ['log/e2-noextra.tlog-proof', '--log-key', 'log/log.vkey', '--entry', 'log/f3.txt']);
    add('tlog-proof/no-entry', 'tlog-proof', 10, ['log/e2-noextra.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/bad-path', 'tlog-proof', 2, ['log/bad-path.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/bad-index', 'tlog-proof', 2, ['log/bad-index.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/bad-signature', 'tlog-proof', 3, ['log/bad-sig.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-proof/no-log-key', 'tlog-proof', 4, ['log/e3.tlog-proof']);
    add('tlog-proof/unknown-log-key', 'tlog-proof', 4, ['log/e3.tlog-proof', '--log-key', 'keys/b/public.pem']);
    add('tlog-proof/garbage', 'tlog-proof', 10, ['log/garbage.tlog-proof', '--log-key', 'log/log.vkey']);
    add('tlog-checkpoint/valid', 'tlog-checkpoint', 0, ['log/checkpoint.txt', '--log-key', 'log/log.vkey']);
    add('tlog-checkpoint/valid-witness-quorum', 'tlog-checkpoint', 0, ['log/checkpoint-cosigned.txt', '--log-key', 'log/log.vkey', '--witness', 'log/witness.vkey', '--witness', 'log/witness2.vkey', '--witness-quorum', '1']);
    add('tlog-checkpoint/witness-quorum-unmet', 'tlog-checkpoint', 1, ['log/checkpoint-cosigned.txt', '--log-key', 'log/log.vkey', '--witness', 'log/witness.vkey', '--witness', 'log/witness2.vkey']);
    add('tlog-checkpoint/bad-cosignature', 'tlog-checkpoint', 3, ['log/checkpoint-badcosig.txt', '--log-key', 'log/log.vkey', '--witness', 'log/witness.vkey']);
    add('tlog-checkpoint/tampered', 'tlog-checkpoint', 3, ['log/checkpoint-tampered.txt', '--log-key', 'log/log.vkey']);
    add('tlog-checkpoint/unknown-key', 'tlog-checkpoint', 4, ['log/checkpoint.txt', '--log-key', 'keys/b/public.pem']);

    // ---------- evident receipts v1 and v2 (in-process service) ----------
    for (const fmt of ['evident.receipt/v1', 'evident.receipt/v2'] as const) {
      const v = fmt.endsWith('v2') ? 'v2' : 'v1';
      const s = await startService({ dataDir: path.join(scratch, `svc-${v}`), host: '127.0.0.1', port: 0, origin: `corpus.example/${v}`, receiptFormat: fmt, logger: false });
      try {
        const post = async (body: unknown) => {
          const r = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminToken}` }, body: JSON.stringify(body) });
          if (r.status !== 201) throw new Error(`corpus build: POST /v1/receipts ${r.status} ${await r.text()}`);
          return (await r.json()) as any;
        };
        const rc = await post({ format: 'in-toto', statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a.txt', digest: { sha256: aSha } }], predicateType: 'https://evident.dev/corpus/v1', predicate: { n: 2 } } });
        const info = (await (await fetch(s.url + '/v1/log')).json()) as { vkey: string };
        const jwks = (await (await fetch(s.url + '/v1/keys')).json()) as { keys: Array<{ public_key_pem: string }> };
        write(`receipts/${v}/issuer.pem`, jwks.keys[0]!.public_key_pem);
        write(`receipts/${v}/log.vkey`, info.vkey + '\n');
        write(`receipts/${v}/receipt.json`, JSON.stringify(rc));
        const t = structuredClone(rc);
        t.envelope.payload = Buffer.from('{"tampered":true}').toString('base64');
        write(`receipts/${v}/receipt-tampered.json`, JSON.stringify(t));
        const bi = structuredClone(rc);
        bi.log.index += 1;
        write(`receipts/${v}/receipt-bad-index.json`, JSON.stringify(bi));
      } finally {
        await s.close();
      }
      const base = [`receipts/${v}/receipt.json`, '--key', `receipts/${v}/issuer.pem`, '--log-key', `receipts/${v}/log.vkey`];
      add(`evident.receipt/${v}/valid`, 'evident.receipt', 0, base);
      add(`evident.receipt/${v}/valid-artifact`, 'evident.receipt', 0, [...base, '--artifact', 'dsse/a.txt']);
      add(`evident.receipt/${v}/wrong-artifact`, 'evident.receipt', 2, [...base, '--artifact', 'dsse/other.txt']);
      add(`evident.receipt/${v}/tampered`, 'evident.receipt', 2, [`receipts/${v}/receipt-tampered.json`, ...base.slice(1)]);
      add(`evident.receipt/${v}/bad-index`, 'evident.receipt', 2, [`receipts/${v}/receipt-bad-index.json`, ...base.slice(1)]);
      add(`evident.receipt/${v}/wrong-issuer-key`, 'evident.receipt', 3, [`receipts/${v}/receipt.json`, '--key', 'keys/b/public.pem', '--log-key', `receipts/${v}/log.vkey`]);
      add(`evident.receipt/${v}/no-log-key`, 'evident.receipt', 4, [`receipts/${v}/receipt.json`, '--key', `receipts/${v}/issuer.pem`]);
    }
    add('evident.receipt/v1/witness-missing', 'evident.receipt', 1, ['receipts/v1/receipt.json', '--key', 'receipts/v1/issuer.pem', '--log-key', 'receipts/v1/log.vkey', '--witness', 'log/witness.vkey']);

    // ---------- HashMatch ----------
    const HM = path.join(VEC, 'hashmatch');
    copy(path.join(HM, 'generated/keys/organizer.pub'), 'hashmatch/organizer.pub');
    copy(path.join(HM, 'upstream/keys/exhibitions.pub.pem'), 'hashmatch/exhibitions.pub.pem');
    copy(path.join(HM, 'generated/tournament-42'), 'hashmatch/tournament-42');
    copy(path.join(HM, 'generated/match-7'), 'hashmatch/match-7');
    copy(path.join(HM, 'generated/match-7'), 'hashmatch/match-7-signed');
    cli(['hashmatch', 'sign', 'hashmatch/match-7-signed', '--key', path.relative(dir, path.join(HM, 'generated/keys/organizer.key')), '--issuer', 'corpus-organizer']);
    copy(path.join(HM, 'upstream/exhibitions/heist-showcase-001'), 'hashmatch/heist-showcase-001');
    copy(p('hashmatch/match-7-signed'), 'hashmatch/match-7-tampered');
    const log = read('hashmatch/match-7-tampered/match.jsonl').split('\n');
    log[1] = log[1]!.replace(/"seq":\s*1/, '"seq":1 ').replace(/1/, '2');
    write('hashmatch/match-7-tampered/match.jsonl', log.join('\n'));
    copy(p('hashmatch/tournament-42'), 'hashmatch/tournament-42-standings');
    const st = JSON.parse(read('hashmatch/tournament-42-standings/standings.json'));
    write('hashmatch/tournament-42-standings/standings.json', JSON.stringify(reverseFirst(st), null, 2));
    const tr = read('hashmatch/tournament-42/tournament_receipt.json');
    write('hashmatch/receipt-tampered.json', tr.replace(/"(sha256:)?[0-9a-f]{64}"/, (m) => m.slice(0, -2) + (m.at(-2) === '0' ? '1' : '0') + '"'));
    write('hashmatch/receipt-dup.json', tr.replace('{', '{"version": "x", "version": "x",'));
    add('hashmatch.tournament/strict/valid', 'hashmatch.tournament', 0, ['hashmatch/tournament-42', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.tournament/compat/valid', 'hashmatch.tournament', 0, ['hashmatch/tournament-42', '--key', 'hashmatch/organizer.pub', '--mode', 'compat']);
    add('hashmatch.tournament/trust-store', 'hashmatch.tournament', 4, ['hashmatch/tournament-42', '--trust', 'keys/trust-a.json']);
    add('hashmatch.tournament/upstream/valid', 'hashmatch.tournament', 0, ['hashmatch/heist-showcase-001', '--key', 'hashmatch/exhibitions.pub.pem']);
    add('hashmatch.tournament/upstream/compat', 'hashmatch.tournament', 0, ['hashmatch/heist-showcase-001', '--key', 'hashmatch/exhibitions.pub.pem', '--mode', 'compat']);
    add('hashmatch.tournament/strict/standings-mismatch', 'hashmatch.tournament', 2, ['hashmatch/tournament-42-standings', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.tournament/compat/standings-mismatch', 'hashmatch.tournament', 0, ['hashmatch/tournament-42-standings', '--key', 'hashmatch/organizer.pub', '--mode', 'compat']);
    add('hashmatch.tournament/wrong-key', 'hashmatch.tournament', 4, ['hashmatch/tournament-42', '--key', 'hashmatch/exhibitions.pub.pem']);
    add('hashmatch.match/unsigned', 'hashmatch.match', 0, ['hashmatch/match-7']);
    add('hashmatch.match/strict/signed', 'hashmatch.match', 0, ['hashmatch/match-7-signed', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.match/compat/signed', 'hashmatch.match', 0, ['hashmatch/match-7-signed', '--mode', 'compat']);
    add('hashmatch.match/strict/no-key', 'hashmatch.match', 4, ['hashmatch/match-7-signed']);
    add('hashmatch.match/strict/tampered', 'hashmatch.match', 2, ['hashmatch/match-7-tampered', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.match/compat/tampered', 'hashmatch.match', 1, ['hashmatch/match-7-tampered', '--mode', 'compat']);
    add('hashmatch.receipt/strict/valid', 'hashmatch.receipt', 0, ['hashmatch/match-7-signed/receipt.json', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.receipt/compat/valid', 'hashmatch.receipt', 0, ['hashmatch/tournament-42/tournament_receipt.json', '--mode', 'compat']);
    add('hashmatch.receipt/strict/tournament', 'hashmatch.receipt', 0, ['hashmatch/tournament-42/tournament_receipt.json', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.receipt/strict/no-key', 'hashmatch.receipt', 4, ['hashmatch/tournament-42/tournament_receipt.json']);
    add('hashmatch.receipt/strict/tampered', 'hashmatch.receipt', 3, ['hashmatch/receipt-tampered.json', '--key', 'hashmatch/organizer.pub']);
    add('hashmatch.receipt/compat/tampered', 'hashmatch.receipt', 1, ['hashmatch/receipt-tampered.json', '--mode', 'compat']);
    add('unknown/hashmatch-receipt-duplicate-keys', 'unknown', 10, ['hashmatch/receipt-dup.json', '--key', 'hashmatch/organizer.pub']);

    // ---------- WCP ----------
    const RV = JSON.parse(fs.readFileSync(path.join(VEC, 'wcp/registry-artifact-hash-vectors.json'), 'utf8'));
    const edge = RV.vectors.find((x: { id: string }) => x.id === 'synthetic-edge');
    const rec = edge.record_json_text.replace('sha256:to-be-ignored', edge.expected_artifact_hash);
    write('wcp/record.json', rec);
    write('wcp/record-tampered.json', rec.replace('"low"', '"high"'));
    add('wcp.registry-record/strict/valid', 'wcp.registry-record', 0, ['wcp/record.json']);
    add('wcp.registry-record/compat/valid', 'wcp.registry-record', 0, ['wcp/record.json', '--mode', 'compat']);
    add('wcp.registry-record/strict/tampered', 'wcp.registry-record', 2, ['wcp/record-tampered.json']);
    add('wcp.registry-record/compat/tampered', 'wcp.registry-record', 2, ['wcp/record-tampered.json', '--mode', 'compat']);
    const ID = ['--worker-id', 'org.example.my-worker.instance-1', '--species', 'wrk.example.my-worker'];
    cli(['wcp', 'scaffold', 'wcp/pkg']);
    cli(['wcp', 'sign', 'wcp/pkg', ...ID, '--worker-version', '2.0.0', '--built-at', '2026-03-09T12:00:00Z', '--key', 'keys/a/private.pem'], { env: { WCP_ATTEST_HMAC_KEY: 'corpus-secret' } });
    copy(p('wcp/pkg'), 'wcp/pkg-tampered');
    fs.appendFileSync(p('wcp/pkg-tampered/requirements.lock'), '\nevil==1.0\n');
    write('wcp/ban.json', JSON.stringify(['org.example.my-worker.instance-1']));
    // the manifest's HMAC secret comes only from the environment (WCP_ATTEST_HMAC_KEY); the page sets it from its form
    const SECRET = { WCP_ATTEST_HMAC_KEY: 'corpus-secret' };
    add('wcp.package/strict/valid', 'wcp.package', 0, ['wcp/pkg', ...ID, '--key', 'keys/a/public.pem'], SECRET);
    add('wcp.package/compat/valid', 'wcp.package', 0, ['wcp/pkg', ...ID, '--mode', 'compat'], SECRET);
    add('wcp.package/strict/wrong-secret', 'wcp.package', 3, ['wcp/pkg', ...ID, '--key', 'keys/a/public.pem'], { WCP_ATTEST_HMAC_KEY: 'not-the-secret' });
    add('wcp.package/strict/tampered-with-secret', 'wcp.package', 2, ['wcp/pkg-tampered', ...ID, '--key', 'keys/a/public.pem'], SECRET);
    add('wcp.package/strict/no-hmac-secret', 'wcp.package', 4, ['wcp/pkg', ...ID, '--key', 'keys/a/public.pem']);
    add('wcp.package/compat/no-hmac-secret', 'wcp.package', 4, ['wcp/pkg', ...ID, '--mode', 'compat']);
    add('wcp.package/strict/wrong-worker-id', 'wcp.package', 1, ['wcp/pkg', '--worker-id', 'org.example.other', '--species', 'wrk.example.my-worker']);
    add('wcp.package/strict/invalid-ban-list', 'wcp.package', 10, ['wcp/pkg', ...ID, '--ban-list', 'wcp/ban.json']);
    add('wcp.package/strict/tampered', 'wcp.package', 2, ['wcp/pkg-tampered', ...ID]);
    add('wcp.package/compat/tampered', 'wcp.package', 2, ['wcp/pkg-tampered', ...ID, '--mode', 'compat']);

    // ---------- ELI / CDIL ----------
    const SP = parseEliJson(fs.readFileSync(path.join(VEC, 'eli/signed-packets.json'))) as { packets: Array<{ id: string; packet: any }>; test_key: { public_jwk: unknown; public_key_pem: string }; other_key_public_jwk: unknown };
    write('eli/test.jwk', JSON.stringify(SP.test_key.public_jwk));
    write('eli/test.pem', SP.test_key.public_key_pem);
    write('eli/other.jwk', JSON.stringify(SP.other_key_public_jwk));
    for (const pk of SP.packets) write(`eli/${pk.id}.json`, prettyPacket(pk.packet));
    write('eli/approved-tampered.json', read('eli/approved.json').replace(/"client_id": "([^"]*)"/, '"client_id": "$1x"'));
    write('eli/approved-dup.json', read('eli/approved.json').replace('{', '{\n  "client_id": "dup",'));
    copy(path.join(VEC, 'eli/upstream/signed_packet.json'), 'eli/upstream/signed_packet.json');
    copy(path.join(VEC, 'eli/upstream/public_key.jwk'), 'eli/upstream/public_key.jwk');
    copy(path.join(VEC, 'eli/cdil-variant/halo_sample_packet.json'), 'eli/cdil/halo_sample_packet.json');
    copy(path.join(VEC, 'eli/cdil-variant/dev_public.jwk.json'), 'eli/cdil/dev_public.jwk.json');
    write('eli/cdil/halo_tampered.json', read('eli/cdil/halo_sample_packet.json').replace(/"(sha256:)?[0-9a-f]{64}"/, (m) => m.slice(0, -2) + (m.at(-2) === '0' ? '1' : '0') + '"'));
    add('eli.packet/strict/valid', 'eli.packet', 0, ['eli/approved.json', '--jwk', 'eli/test.jwk']);
    add('eli.packet/strict/valid-key-pem', 'eli.packet', 0, ['eli/approved.json', '--key', 'eli/test.pem']);
    add('eli.packet/compat/valid', 'eli.packet', 0, ['eli/approved.json', '--jwk', 'eli/test.jwk', '--mode', 'compat']);
    add('eli.packet/strict/denied', 'eli.packet', 0, ['eli/denied-no-policy.json', '--jwk', 'eli/test.jwk']);
    add('eli.packet/strict/unicode-floats', 'eli.packet', 0, ['eli/unicode-floats-bigint.json', '--jwk', 'eli/test.jwk']);
    add('eli.packet/compat/unicode-floats', 'eli.packet', 0, ['eli/unicode-floats-bigint.json', '--jwk', 'eli/test.jwk', '--mode', 'compat']);
    add('eli.packet/strict/upstream', 'eli.packet', 0, ['eli/upstream/signed_packet.json', '--jwk', 'eli/upstream/public_key.jwk']);
    add('eli.packet/compat/upstream', 'eli.packet', 0, ['eli/upstream/signed_packet.json', '--jwk', 'eli/upstream/public_key.jwk', '--mode', 'compat']);
    add('eli.packet/strict/tampered', 'eli.packet', 2, ['eli/approved-tampered.json', '--jwk', 'eli/test.jwk']);
    add('eli.packet/compat/tampered', 'eli.packet', 2, ['eli/approved-tampered.json', '--jwk', 'eli/test.jwk', '--mode', 'compat']);
    add('eli.packet/strict/wrong-key', 'eli.packet', 3, ['eli/approved.json', '--jwk', 'eli/other.jwk']);
    add('eli.packet/strict/no-key', 'eli.packet', 4, ['eli/approved.json']);
    add('unknown/eli-duplicate-keys', 'unknown', 10, ['eli/approved-dup.json', '--jwk', 'eli/test.jwk']);
    add('eli.packet/compat/duplicate-keys-last-wins', 'eli.packet', 0, ['eli/approved-dup.json', '--jwk', 'eli/test.jwk', '--mode', 'compat']);
    add('eli.cdil/strict/valid', 'eli.cdil', 0, ['eli/cdil/halo_sample_packet.json', '--jwk', 'eli/cdil/dev_public.jwk.json']);
    add('eli.cdil/compat/valid', 'eli.cdil', 0, ['eli/cdil/halo_sample_packet.json', '--jwk', 'eli/cdil/dev_public.jwk.json', '--mode', 'compat']);
    add('eli.cdil/strict/tampered', 'eli.cdil', 2, ['eli/cdil/halo_tampered.json', '--jwk', 'eli/cdil/dev_public.jwk.json']);
    add('eli.cdil/strict/rsa-key-for-p256', 'eli.cdil', 4, ['eli/cdil/halo_sample_packet.json', '--jwk', 'eli/test.jwk']);

    // ---------- CPHAR (offline against a registry snapshot: --seal-registry; without one REGISTRY_REQUIRED, exit 10) ----------
    const sdb = `sqlite:${path.join(scratch, 'seal.db')}`;
    cli(['seal', 'register', '--db', sdb, '--seal', 'seal_A', '--key', 'keys/a/public.pem', '--firmware', FW, '--lot', 'L1']);
    fs.mkdirSync(p('cphar'), { recursive: true });
    cli(['seal', 'snapshot', '--db', sdb, '--out', 'cphar/registry-registered.json']);
    cli(['seal', 'inspect', '--db', sdb, '--seal', 'seal_A', '--sealed']);
    cli(['seal', 'snapshot', '--db', sdb, '--out', 'cphar/registry.json']);
    cli(['seal', 'revoke', '--db', sdb, '--seal', 'seal_A', '--reason', 'corpus']);
    cli(['seal', 'snapshot', '--db', sdb, '--out', 'cphar/registry-revoked.json']);
    cli(['seal', 'challenge', '--seal', 'seal_A', '--db', sdb, '--out', 'cphar/challenge.json']);
    cli(['seal', 'respond', '--key', 'keys/a/private.pem', '--firmware', FW, 'cphar/challenge.json', '--out', 'cphar/attestation.json']);
    const ch = JSON.parse(read('cphar/challenge.json'));
    const cNow = new Date(Date.parse(ch.timestamp) + 5_000).toISOString();
    add('cphar.attestation/strict/no-registry', 'cphar.attestation', 10, ['cphar/attestation.json', '--challenge', 'cphar/challenge.json', '--now', cNow]);
    add('cphar.attestation/compat/no-registry', 'cphar.attestation', 10, ['cphar/attestation.json', '--challenge', 'cphar/challenge.json', '--now', cNow, '--mode', 'compat']);
    add('cphar.attestation/strict/no-challenge', 'cphar.attestation', 10, ['cphar/attestation.json', '--now', cNow]);
    const catt = JSON.parse(read('cphar/attestation.json'));
    write('cphar/attestation-tampered.json', JSON.stringify({ ...catt, firmware_measurement: 'sha256:' + '22'.repeat(32) }));
    const REG = ['--challenge', 'cphar/challenge.json', '--seal-registry', 'cphar/registry.json', '--now', cNow];
    add('cphar.attestation/strict/valid-snapshot', 'cphar.attestation', 0, ['cphar/attestation.json', ...REG]);
    add('cphar.attestation/compat/valid-snapshot', 'cphar.attestation', 0, ['cphar/attestation.json', ...REG, '--mode', 'compat']);
    add('cphar.attestation/strict/tampered', 'cphar.attestation', 3, ['cphar/attestation-tampered.json', ...REG]);
    add('cphar.attestation/strict/stale', 'cphar.attestation', 1, ['cphar/attestation.json', ...REG.slice(0, -1), '2099-01-01T00:00:00Z']);
    add('cphar.attestation/strict/revoked', 'cphar.attestation', 4, ['cphar/attestation.json', '--challenge', 'cphar/challenge.json', '--seal-registry', 'cphar/registry-revoked.json', '--now', cNow]);
    add('cphar.attestation/strict/not-sealed', 'cphar.attestation', 4, ['cphar/attestation.json', '--challenge', 'cphar/challenge.json', '--seal-registry', 'cphar/registry-registered.json', '--now', cNow]);

    // ---------- H4MK containers and H4 attestations ----------
    const H4 = path.join(VEC, 'h4/generated');
    write('h4/in.bin', Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff)));
    for (const engine of ['deflate', 'reference-rle', 'brotli']) {
      cli(['h4mk', 'build', '--engine', engine, '--key', 'keys/a/private.pem', '--block-size', '65536', 'h4/in.bin', '-o', `h4/c-${engine}.h4mk`]);
      add(`h4mk/${engine}/strict/valid`, 'h4mk', 0, [`h4/c-${engine}.h4mk`, '--key', 'keys/a/public.pem']);
    }
    add('h4mk/deflate/compat/valid', 'h4mk', 0, ['h4/c-deflate.h4mk', '--key', 'keys/a/public.pem', '--mode', 'compat']);
    add('h4mk/brotli/strict/wrong-key', 'h4mk', 3, ['h4/c-brotli.h4mk', '--key', 'keys/b/public.pem']);
    add('h4mk/deflate/strict/no-key', 'h4mk', 4, ['h4/c-deflate.h4mk']);
    const tam = fs.readFileSync(p('h4/c-reference-rle.h4mk'));
    tam[Math.floor(tam.length / 2)]! ^= 0x40;
    write('h4/c-rle-tampered.h4mk', tam);
    add('h4mk/reference-rle/strict/tampered', 'h4mk', 2, ['h4/c-rle-tampered.h4mk', '--key', 'keys/a/public.pem']);
    cli(['h4mk', 'build', '--engine', 'deflate', 'h4/in.bin', '-o', 'h4/unsigned.h4mk']);
    add('h4mk/unsigned/strict', 'h4mk', 3, ['h4/unsigned.h4mk', '--key', 'keys/a/public.pem']);
    add('h4mk/unsigned/compat', 'h4mk', 0, ['h4/unsigned.h4mk', '--mode', 'compat']);
    for (const f of ['a-basic.h4mk', 'a-basic.meta-bitflip.h4mk', 'a-basic.forged-meta-recomputed-veri.h4mk', 'b-multitrack-demo.h4mk']) copy(path.join(H4, f), `h4/vectors/${f}`);
    add('h4mk/vector/compat/basic', 'h4mk', 0, ['h4/vectors/a-basic.h4mk', '--mode', 'compat']);
    add('h4mk.b/vector/compat/multitrack', 'h4mk.b', 0, ['h4/vectors/b-multitrack-demo.h4mk', '--mode', 'compat']);
    add('h4mk/vector/strict/meta-bitflip', 'h4mk', 2, ['h4/vectors/a-basic.meta-bitflip.h4mk']);
    add('h4mk/vector/compat/meta-bitflip', 'h4mk', 2, ['h4/vectors/a-basic.meta-bitflip.h4mk', '--mode', 'compat']);
    add('h4mk/vector/strict/forged-meta', 'h4mk', 3, ['h4/vectors/a-basic.forged-meta-recomputed-veri.h4mk']);
    write('h4/trailing.h4mk', Buffer.concat([fs.readFileSync(p('h4/c-deflate.h4mk')), Buffer.from('junk')]));
    add('h4mk/deflate/strict/trailing-bytes', 'h4mk', 2, ['h4/trailing.h4mk', '--key', 'keys/a/public.pem']);

    const engSrc = "export const id = 'corpus-engine-v1';\nexport function compress(b) { return b.slice(); }\nexport function decompress(b) { return b.slice(); }\n";
    const engPath = path.join(scratch, 'eng.mjs');
    fs.writeFileSync(engPath, engSrc);
    const pins = { HARMONY4_ENGINE_ID: 'corpus-engine-v1', HARMONY4_ENGINE_FP: createHash('sha256').update(engSrc).digest('hex'), HARMONY4_CORE_PATH: engPath };
    const att = cli(['engine', 'attest', '--nonce', 'corpus-nonce-0123456789', '--key', 'keys/a/private.pem'], { env: pins });
    write('h4/attestation.json', att);
    const attJ = JSON.parse(att);
    const attT = typeof attJ.timestamp === 'string' ? Date.parse(attJ.timestamp) : typeof attJ.timestamp_ms === 'number' ? attJ.timestamp_ms : Date.now();
    const aNow = new Date(attT + 5_000).toISOString();
    write('h4/attestation-tampered.json', JSON.stringify({ ...attJ, fingerprint: '0'.repeat(64) }));
    write('h4/attestation-upstream.json', cli(['engine', 'attest', '--now', '2023-12-23T16:40:00.750Z']));
    add('h4.attestation/strict/valid', 'h4.attestation', 0, ['h4/attestation.json', '--key', 'keys/a/public.pem', '--now', aNow]);
    add('h4.attestation/compat/valid', 'h4.attestation', 0, ['h4/attestation.json', '--key', 'keys/a/public.pem', '--now', aNow, '--mode', 'compat']);
    add('h4.attestation/compat/upstream-unsigned', 'h4.attestation', 0, ['h4/attestation-upstream.json', '--now', '2023-12-23T16:40:05Z', '--mode', 'compat']);
    add('h4.attestation/strict/upstream-unsigned', 'h4.attestation', 3, ['h4/attestation-upstream.json', '--key', 'keys/a/public.pem', '--now', '2023-12-23T16:40:05Z']);
    add('h4.attestation/strict/stale', 'h4.attestation', 1, ['h4/attestation.json', '--key', 'keys/a/public.pem', '--now', '2099-01-01T00:00:00Z']);
    add('h4.attestation/strict/tampered', 'h4.attestation', 3, ['h4/attestation-tampered.json', '--key', 'keys/a/public.pem', '--now', aNow]);
    add('h4.attestation/strict/wrong-key', 'h4.attestation', 3, ['h4/attestation.json', '--key', 'keys/b/public.pem', '--now', aNow]);

    // ---------- Sigstore bundles (sigstore-conformance cases) ----------
    copy(path.join(SIG, 'bundle-verify/a.txt'), 'sigstore/a.txt');
    copy(path.join(SIG, 'trusted_root.public-good.json'), 'sigstore/trusted_root.public-good.json');
    const sigCases: Array<[string, number]> = [
      ['happy-path-v0.3', 0], ['managed-key-happy-path', 0], ['rekor2-happy-path', 0], ['happy-path-intoto-in-dsse-v3', 0], ['rekor2-checkpoint-cosigned', 0],
      ['signature-mismatch_fail', 2], ['dsse-invalid-sig_fail', 2], ['checkpoint-wrong-roothash_fail', 2], ['bundle-malformed-json_fail', 10], ['managed-key-wrong-key_fail', 4], ['integrated-time-in-future_fail', 1], ['invalid-inclusion-proof_fail', 10],
    ];
    for (const [name, code] of sigCases) {
      const src = path.join(SIG, 'bundle-verify', name);
      copy(src, `sigstore/${name}`);
      const has = (f: string) => fs.existsSync(path.join(src, f));
      const args = [`sigstore/${name}/bundle.sigstore.json`, '--artifact', has('artifact') ? `sigstore/${name}/artifact` : 'sigstore/a.txt', '--trusted-root', has('trusted_root.json') ? `sigstore/${name}/trusted_root.json` : 'sigstore/trusted_root.public-good.json'];
      if (has('key.pub')) args.push('--key', `sigstore/${name}/key.pub`);
      else args.push('--certificate-identity', has('identity') ? fs.readFileSync(path.join(src, 'identity'), 'utf8').trim() : DEFAULT_IDENTITY, '--certificate-oidc-issuer', has('issuer') ? fs.readFileSync(path.join(src, 'issuer'), 'utf8').trim() : DEFAULT_ISSUER);
      add(`sigstore.bundle/${name}`, name === 'bundle-malformed-json_fail' ? 'unknown' : 'sigstore.bundle', code, args);
    }
    const happy = ['sigstore/happy-path-v0.3/bundle.sigstore.json', '--artifact', 'sigstore/a.txt', '--trusted-root', 'sigstore/trusted_root.public-good.json'];
    add('sigstore.bundle/wrong-identity', 'sigstore.bundle', 1, [...happy, '--certificate-identity', 'https://example.com/not-the-signer', '--certificate-oidc-issuer', DEFAULT_ISSUER]);
    add('sigstore.bundle/identity-regexp', 'sigstore.bundle', 0, [...happy, '--certificate-identity-regexp', '^https://github\\.com/sigstore-conformance/', '--certificate-oidc-issuer', DEFAULT_ISSUER]);
    add('sigstore.bundle/wrong-artifact', 'sigstore.bundle', 2, ['sigstore/happy-path-v0.3/bundle.sigstore.json', '--artifact', 'dsse/a.txt', '--trusted-root', 'sigstore/trusted_root.public-good.json', '--certificate-identity', DEFAULT_IDENTITY, '--certificate-oidc-issuer', DEFAULT_ISSUER]);
    add('sigstore.bundle/no-trusted-root', 'sigstore.bundle', 4, ['sigstore/happy-path-v0.3/bundle.sigstore.json', '--artifact', 'sigstore/a.txt', '--certificate-identity', DEFAULT_IDENTITY, '--certificate-oidc-issuer', DEFAULT_ISSUER]);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return cases;
}

/** Standings with the first two entries swapped (or the first entry's points changed). */
function reverseFirst(st: any): any {
  const arr = Array.isArray(st) ? st : Array.isArray(st?.standings) ? st.standings : undefined;
  if (!arr || arr.length < 2) return st;
  const swapped = [arr[1], arr[0], ...arr.slice(2)];
  return Array.isArray(st) ? swapped : { ...st, standings: swapped };
}

/** `evident verify ARGS --json` in `cwd` (with `env` added): the reference the page is compared with. */
export function verifyCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, 'verify', ...args, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (b: Buffer) => out.push(b));
    c.stderr.on('data', (b: Buffer) => err.push(b));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

export { pool } from '../pool.ts';

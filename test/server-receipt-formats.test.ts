/**
 * Service e2e (real HTTP, SQLite and PostgreSQL): POST /v1/receipts for the formats hashmatch (match,
 * tournament), eli and wcp. Each receipt's subjects are checked against the vectors (upstream receipts'
 * payloads, pinned HALO chains, pinned artifact_hashes), then verified offline with
 * `evident verify FILE --key ISSUER.pem --log-key VKEY --json` (exit 0; tampered → non-zero). Bad bodies (400),
 * self-contradicting artifacts (422), auth (401, 403 with a register-only token). Plus the offline predicate checks
 * on forged statements (library level).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkFormatStatement, eliStatement, hashMatchTournamentStatement, wcpStatement } from '../src/profiles/statements.ts';
import { parseEliJson } from '../src/profiles/eli/c14n.ts';
import { parseRecord } from '../src/profiles/wcp/registry.ts';
import type { JsonObject } from '../src/kernel/json/index.ts';
import { testBackends, withService } from './service-env.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/evident.js');
const VEC = path.resolve(import.meta.dirname, '../../shared/vectors');
const HM = path.join(VEC, 'hashmatch/generated');
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const b64 = (f: string) => fs.readFileSync(f).toString('base64');

const MATCH7 = path.join(HM, 'match-7');
const T42 = path.join(HM, 'tournament-42');
const T42_KEYS = fs.readdirSync(path.join(T42, 'matches')).sort();
const matchBody = (dir: string, key?: string, summary = true) => ({
  ...(key ? { key } : {}),
  manifest: readJson(path.join(dir, 'match_manifest.json')),
  log_base64: b64(path.join(dir, 'match.jsonl')),
  ...(summary ? { summary: readJson(path.join(dir, 'match_summary.json')) } : {}),
});
const tournamentBody = () => ({
  manifest: readJson(path.join(T42, 'tournament_manifest.json')),
  standings: readJson(path.join(T42, 'standings.json')),
  matches: T42_KEYS.map((k) => matchBody(path.join(T42, 'matches', k), k)),
});
const HALO = readJson(path.join(VEC, 'eli/halo-vectors.json'));
const RV = readJson(path.join(VEC, 'wcp/registry-artifact-hash-vectors.json'));
const edge = RV.vectors.find((v: { id: string }) => v.id === 'synthetic-edge');
const edgeText = (hash: string) => edge.record_json_text.replace('sha256:to-be-ignored', hash);

/** The in-toto statement inside a receipt's envelope. */
const statementOf = (r: any) => JSON.parse(Buffer.from(r.envelope.payload, 'base64').toString('utf8'));
const hex = (d: string) => d.replace(/^sha256:/, '');

const backends = testBackends();

for (const [name, dbUrl] of backends) {
  test(`receipt formats on ${name}: hashmatch, eli, wcp issued, verified offline, bad input, auth`, async () => {
    await withService(dbUrl, 'evident-rfmt-', { origin: 'test.example/evident' }, async (s, { dir }) => {
      const url = s.url;
      const admin = s.adminToken!;
      const post = (p: string, body: string | object, token: string | null) =>
        fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const tokenWith = async (scopes: string[]) => ((await (await post('/v1/tokens', { scopes }, admin)).json()) as { token: string }).token;
      const issue = await tokenWith(['issue']);
      const registerOnly = await tokenWith(['register']);
      const receipt = (body: string | object, token: string | null = issue) => post('/v1/receipts', body, token);
      const issued = async (body: string | object) => {
        const r = await receipt(body);
        const b = (await r.json()) as any;
        assert.equal(r.status, 201, JSON.stringify(b));
        return b;
      };
      const refused = async (body: string | object) => {
        const r = await receipt(body);
        return [r.status, ((await r.json()) as any).error];
      };

      const keys = (await (await fetch(url + '/v1/keys')).json()) as { keys: Array<{ kid: string; public_key_pem: string }> };
      const kid = keys.keys[0]!.kid;
      fs.writeFileSync(path.join(dir, 'issuer.pem'), keys.keys[0]!.public_key_pem);
      const vkey = ((await (await fetch(url + '/v1/log')).json()) as { vkey: string }).vkey;
      let n = 0;
      const cli = (r: unknown, extra: string[] = ['--key', path.join(dir, 'issuer.pem'), '--log-key', vkey]) => {
        const f = path.join(dir, `r${n++}.json`);
        fs.writeFileSync(f, JSON.stringify(r));
        const p = spawnSync(process.execPath, [BIN, 'verify', f, ...extra, '--json'], { encoding: 'utf8', timeout: 60_000 });
        const rep = JSON.parse(p.stdout);
        assert.equal(rep.exitCode, p.status, p.stderr);
        return rep;
      };
      const offlineOk = (r: any, predicateType: string) => {
        const rep = cli(r);
        assert.equal(rep.valid, true, JSON.stringify(rep));
        assert.equal(rep.exitCode, 0);
        assert.equal(rep.format, 'evident.receipt');
        const pc = rep.checks.find((c: any) => c.id === 'predicate');
        assert.ok(pc?.ok, `predicate check ran: ${JSON.stringify(rep.checks.map((c: any) => c.id))}`);
        assert.match(pc.message, new RegExp(predicateType.replace(/[/.]/g, '\\$&')));
      };
      const tamperedFails = (r: any) => {
        const t = structuredClone(r);
        const st = statementOf(t);
        st.subject[0].digest.sha256 = 'f'.repeat(64);
        t.envelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
        const rep = cli(t);
        assert.equal(rep.valid, false);
        assert.notEqual(rep.exitCode, 0);
        assert.equal(rep.exitCode, 2, 'id / entry / predicate mismatch: integrity');
        assert.equal(cli(r, ['--log-key', vkey]).exitCode, 4, 'no issuer key → 4');
      };

      // ---- hashmatch: stand-alone match (match-7)
      const summary7 = readJson(path.join(MATCH7, 'match_summary.json'));
      const m7 = await issued({ format: 'hashmatch', kind: 'match', match: matchBody(MATCH7) });
      let st = statementOf(m7);
      assert.equal(st.predicateType, 'https://evident.dev/hashmatch/v1');
      assert.deepEqual(st.subject, [
        { name: 'match.jsonl', digest: { sha256: hex(summary7.hashes.logHash) } },
        { name: 'match_manifest.json#ManifestCore', digest: { sha256: hex(summary7.hashes.manifestHash) } },
      ]);
      assert.deepEqual(st.predicate.payload, { matchId: summary7.matchId, logHash: summary7.hashes.logHash, manifestHash: summary7.hashes.manifestHash, runnerVersion: st.predicate.payload.runnerVersion, issuedBy: kid });
      offlineOk(m7, 'https://evident.dev/hashmatch/v1');
      tamperedFails(m7);

      // ---- hashmatch: tournament (tournament-42): the predicate payloads equal the upstream receipts' payloads
      const t42 = await issued({ format: 'hashmatch', kind: 'tournament', issued_by: 'test-organizer', tournament: tournamentBody() });
      st = statementOf(t42);
      assert.deepEqual(st.predicate.payload, readJson(path.join(T42, 'tournament_receipt.json')).payload);
      for (const k of T42_KEYS) {
        const up = readJson(path.join(T42, 'matches', k, 'receipt.json')).payload;
        const mine = st.predicate.matches.find((x: any) => x.matchKey === k);
        assert.deepEqual({ matchId: mine.matchId, logHash: mine.logHash, manifestHash: mine.manifestHash, runnerVersion: mine.runnerVersion, issuedBy: 'test-organizer' }, up, k);
        assert.ok(st.subject.some((x: any) => x.name === `matches/${k}/match.jsonl` && x.digest.sha256 === hex(up.logHash)));
      }
      assert.deepEqual(st.subject.slice(0, 1), [{ name: 'truthBundle', digest: { sha256: hex(readJson(path.join(T42, 'tournament_manifest.json')).truthBundleHash) } }]);
      assert.equal(st.subject.length, 2 + 2 * T42_KEYS.length);
      assert.match(st.predicate.standingsHash, /^sha256:[0-9a-f]{64}$/);
      offlineOk(t42, 'https://evident.dev/hashmatch/v1');
      tamperedFails(t42);

      // ---- hashmatch refusals
      const flipped = matchBody(MATCH7);
      const logBytes = Buffer.from(flipped.log_base64, 'base64');
      logBytes[logBytes.indexOf('"turn":1') + 7] = 0x32; // "turn":1 → "turn":2 (still JSON)
      flipped.log_base64 = logBytes.toString('base64');
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: flipped }), [422, 'SUMMARY_MISMATCH']);
      const tb = tournamentBody();
      const tlog = Buffer.from(tb.matches[0]!.log_base64, 'base64');
      tlog[tlog.indexOf('"turn":1') + 7] = 0x32;
      tb.matches[0] = { ...tb.matches[0]!, log_base64: tlog.toString('base64') };
      delete (tb.matches[0] as { summary?: unknown }).summary;
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'tournament', tournament: tb }), [422, 'TRUTH_BUNDLE_MISMATCH']);
      const missing = tournamentBody();
      missing.matches.pop();
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'tournament', tournament: missing }), [422, 'MATCH_MISSING']);
      const unlisted = tournamentBody();
      unlisted.matches[0] = { ...unlisted.matches[0]!, key: 'RR:other' };
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'tournament', tournament: unlisted }), [422, 'MATCH_UNLISTED']);
      const notJson = { ...matchBody(MATCH7, undefined, false), log_base64: Buffer.from('{"seq":0}\nnot json\n').toString('base64') };
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: notJson }), [422, 'LOG_INVALID']);
      const seq = { ...matchBody(MATCH7, undefined, false), log_base64: Buffer.from('{"seq":1}\n').toString('base64') };
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: seq }), [422, 'LOG_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', match: matchBody(MATCH7) }), [400, 'INPUT_INVALID'], 'kind is required');
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', tournament: tournamentBody() }), [400, 'INPUT_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'tournament', match: matchBody(MATCH7) }), [400, 'INPUT_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: { ...matchBody(MATCH7), log_base64: '%%%' } }), [400, 'INPUT_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: { ...matchBody(MATCH7), extra: 1 } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'round', match: matchBody(MATCH7) }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: { ...matchBody(MATCH7), manifest: { ...matchBody(MATCH7).manifest, matchId: 7 } } }), [400, 'INPUT_INVALID']);
      assert.deepEqual(await refused({ format: 'hashmatch', kind: 'match', match: matchBody(MATCH7), statement: {} }), [400, 'INPUT_INVALID']);

      // ---- eli: every HALO vector, sent as exact text (test_fixed_vector_1 has the float 1.0)
      for (const v of HALO.vectors) {
        const fields = v.packet_fields_json_text ?? JSON.stringify(v.packet_fields);
        const r = await issued(`{"format": "eli", "transaction": ${fields}}`);
        st = statementOf(r);
        assert.equal(st.predicateType, 'https://evident.dev/eli/v1');
        assert.deepEqual(st.subject, [{ name: v.packet_fields.transaction_id, digest: { sha256: hex(v.expected_halo_chain.final_hash) } }], v.id);
        assert.deepEqual(st.predicate.halo_chain, v.expected_halo_chain, v.id);
        assert.equal(typeof st.predicate.packet_json_c14n_v1, 'string');
        assert.equal(JSON.parse(st.predicate.packet_json_c14n_v1).verification, undefined, 'no RS256 block: an Evident receipt, not an ELI signature');
        if (v.id === 'test_fixed_vector_1') {
          assert.ok(st.predicate.packet_json_c14n_v1.includes('"temp":1.0'), 'json_c14n_v1 keeps 1.0');
          offlineOk(r, 'https://evident.dev/eli/v1');
          tamperedFails(r);
          // a claimed halo_chain must be the recomputed one
          const withChain = (chain: unknown) => `{"format": "eli", "transaction": ${fields.replace(/}\s*$/, `, "halo_chain": ${JSON.stringify(chain)}}`)}}`;
          await issued(withChain(v.expected_halo_chain));
          assert.deepEqual(await refused(withChain({ ...v.expected_halo_chain, block_3: 'sha256:' + '0'.repeat(64) })), [422, 'HALO_MISMATCH']);
          // the same fields through JSON.parse lose 1.0 → another packet, another final hash
          const lossy = await issued({ format: 'eli', transaction: JSON.parse(fields) });
          assert.notEqual(statementOf(lossy).predicate.final_hash, v.expected_halo_chain.final_hash);
        }
      }
      // gateway defaults and texts
      const gen = await issued({ format: 'eli', transaction: { environment: 'prod', client_id: 'c1' }, texts: { prompt: 'hello' } });
      st = statementOf(gen);
      const packet = JSON.parse(st.predicate.packet_json_c14n_v1);
      assert.match(packet.transaction_id, /^tx_[0-9a-f]{16}$/);
      assert.equal(packet.prompt_hash, 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      assert.equal(packet.policy_receipt_subset.policy_version_hash, 'sha256:no_policy');
      offlineOk(gen, 'https://evident.dev/eli/v1');
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod' } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod', client_id: 'c', extra: 1 } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod', client_id: 'c', verification: {} } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod', client_id: 'c', latency_ms: '10' } }), [400, 'SCHEMA_INVALID'], 'no coercion');
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod', client_id: 'c', prompt_hash: 'sha256:x' }, texts: { prompt: 'p' } }), [400, 'INPUT_INVALID']);
      assert.deepEqual(await refused({ format: 'eli', transaction: { environment: 'prod', client_id: 'c', output_hash: 'sha256:x' } }), [400, 'INPUT_INVALID'], 'a denial has no output');
      assert.deepEqual(await refused({ format: 'eli', texts: { prompt: 'p' } }), [400, 'INPUT_INVALID']);

      // ---- wcp: the synthetic edge record as exact text (1.0, 1e+16, 1e-07, non-ASCII)
      const w = await issued(`{"format": "wcp", "record": ${edgeText(edge.expected_artifact_hash)}}`);
      st = statementOf(w);
      assert.equal(st.predicateType, 'https://evident.dev/wcp/v1');
      assert.deepEqual(st.subject, [{ name: edge.record.worker_id, digest: { sha256: hex(edge.expected_artifact_hash) } }]);
      assert.equal(st.predicate.record_preimage, edge.hash_preimage_utf8);
      offlineOk(w, 'https://evident.dev/wcp/v1');
      tamperedFails(w);
      // without artifact_hash: computed
      const noHash = await issued(`{"format": "wcp", "record": ${edge.record_json_text.replace(/, "artifact_hash": "[^"]*"/, '')}}`);
      assert.equal(statementOf(noHash).predicate.artifact_hash, edge.expected_artifact_hash);
      assert.deepEqual(await refused(`{"format": "wcp", "record": ${edgeText(edge.expected_artifact_hash).replace('"data": 1.0', '"data": 1')}}`), [422, 'DENY_WORKER_TAMPERED']);
      assert.deepEqual(await refused({ format: 'wcp', record: { worker_id: 'x.a.b', worker_species_id: 's' } }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused({ format: 'wcp', record: JSON.parse(edgeText(edge.expected_artifact_hash)), kind: 'match' }), [400, 'INPUT_INVALID']);

      // ---- auth and generic schema
      assert.equal((await receipt({ format: 'wcp', record: JSON.parse(edgeText(edge.expected_artifact_hash)) }, null)).status, 401);
      const r403 = await receipt({ format: 'hashmatch', kind: 'match', match: matchBody(MATCH7) }, registerOnly);
      assert.deepEqual([r403.status, ((await r403.json()) as any).error], [403, 'INSUFFICIENT_SCOPE']);
      assert.deepEqual(await refused({ format: 'cbor' }), [400, 'SCHEMA_INVALID']);
      assert.deepEqual(await refused('{"format": "eli", "format": "wcp"}'), [400, 'JSON_DUPLICATE_KEY']);

      // ---- stored like every receipt: GET /v1/receipts/{id} re-bundles it, still verifies offline
      for (const r of [m7, t42, gen, w]) {
        const again = (await (await fetch(`${url}/v1/receipts/${r.id}`)).json()) as any;
        assert.deepEqual(again.envelope, r.envelope);
        assert.equal(cli(again).valid, true);
      }
      // and through POST /v1/verify with the pinned issuer key
      const rep = (await (await fetch(url + '/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifact: t42, keys: [keys.keys[0]!.public_key_pem] }) })).json()) as any;
      assert.equal(rep.valid, true, JSON.stringify(rep));
      // the route (registered in its lossless-body scope) is still described by /openapi.json
      const op = ((await (await fetch(url + '/openapi.json')).json()) as any).paths['/v1/receipts'].post;
      assert.deepEqual(op.requestBody.content['application/json'].schema.properties.format.enum, ['in-toto', 'dsse', 'hashmatch', 'eli', 'wcp']);
      assert.ok(op.responses['422']);
    });
  });
}

test('format statements: offline predicate checks catch self-inconsistent (re-signed) statements', () => {
  const fixed = HALO.vectors.find((v: { id: string }) => v.id === 'test_fixed_vector_1');
  const eli = eliStatement(parseEliJson(fixed.packet_fields_json_text) as JsonObject);
  const wcp = wcpStatement(parseRecord(edgeText(edge.expected_artifact_hash)));
  const tb = tournamentBody();
  const tour = hashMatchTournamentStatement({ manifest: tb.manifest, standings: tb.standings, matches: tb.matches.map((m) => ({ key: m.key, manifest: m.manifest, log: Buffer.from(m.log_base64, 'base64') })) }, 'x');
  for (const st of [eli, wcp, tour]) assert.deepEqual(checkFormatStatement(st), [], st.predicateType);
  assert.equal(checkFormatStatement({ predicateType: 'https://example.com/other/v1', predicate: {} }), undefined, 'other predicates are not judged');

  const ids = (st: unknown) => (checkFormatStatement(st) ?? []).map((p) => p.id);
  // a subject that does not follow from the predicate
  const e1 = structuredClone(eli);
  e1.subject[0]!.digest.sha256 = '0'.repeat(64);
  assert.deepEqual(ids(e1), ['predicate.subject']);
  // the packet edited (param_snapshot 1.0 → 2.0) without re-hashing: blocks 4 and final no longer follow
  const e2 = structuredClone(eli);
  e2.predicate.packet_json_c14n_v1 = (e2.predicate.packet_json_c14n_v1 as string).replace('"temp":1.0', '"temp":2.0');
  assert.deepEqual(ids(e2), ['predicate.halo.block_4', 'predicate.halo.final_hash', 'predicate.halo_chain.block_4', 'predicate.halo_chain.final_hash', 'predicate.final_hash', 'predicate.subject']);
  // the WCP preimage edited: artifact_hash no longer its hash
  const w1 = structuredClone(wcp);
  w1.predicate.record_preimage = (w1.predicate.record_preimage as string).replace('"low"', '"high"');
  assert.deepEqual(ids(w1), ['predicate.artifact_hash', 'predicate.subject']);
  // a tournament whose truthBundleHash is not over its listed logs
  const t1 = structuredClone(tour);
  (t1.predicate.matches as Array<Record<string, unknown>>).pop();
  assert.deepEqual(ids(t1), ['predicate.truthBundleHash', 'predicate.matchCount', 'predicate.subject']);
});

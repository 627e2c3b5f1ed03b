/**
 * POST /v1/receipts bodies of every receipt format (in-toto, dsse, hashmatch match + tournament, eli, wcp) built from
 * the shared vectors, and the issuing loop the Sigstore export tests share: every format with the first (Ed25519)
 * key, then a rotation to ES256 and one more dsse receipt.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const VEC = path.resolve(import.meta.dirname, '../../shared/vectors');
const HM = path.join(VEC, 'hashmatch/generated');
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const b64 = (f: string) => fs.readFileSync(f).toString('base64');
const matchBody = (dir: string, key?: string) => ({ ...(key ? { key } : {}), manifest: readJson(path.join(dir, 'match_manifest.json')), log_base64: b64(path.join(dir, 'match.jsonl')) });

/** [label, body] for every receipt format; the in-toto statement's one subject has the given sha256. */
export function receiptBodies(inTotoSubjectSha256 = 'ab'.repeat(32)): Array<[string, string | object]> {
  const T42 = path.join(HM, 'tournament-42');
  const HALO = readJson(path.join(VEC, 'eli/halo-vectors.json'));
  const RV = readJson(path.join(VEC, 'wcp/registry-artifact-hash-vectors.json'));
  const edge = RV.vectors.find((v: { id: string }) => v.id === 'synthetic-edge');
  return [
    ['in-toto', { format: 'in-toto', statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'a.tar', digest: { sha256: inTotoSubjectSha256 } }], predicateType: 'https://evident.dev/test/v1', predicate: { n: 1 } } }],
    ['dsse', { format: 'dsse', payload_type: 'text/plain', payload_base64: Buffer.from('hello sigstore').toString('base64') }],
    ['hashmatch match', { format: 'hashmatch', kind: 'match', match: matchBody(path.join(HM, 'match-7')) }],
    ['hashmatch tournament', { format: 'hashmatch', kind: 'tournament', tournament: { manifest: readJson(path.join(T42, 'tournament_manifest.json')), matches: fs.readdirSync(path.join(T42, 'matches')).sort().map((k) => matchBody(path.join(T42, 'matches', k), k)) } }],
    // eli and wcp bodies are sent as text: their numbers are hashed as spelled (1.0)
    ['eli', `{"format": "eli", "transaction": ${HALO.vectors[0].packet_fields_json_text ?? JSON.stringify(HALO.vectors[0].packet_fields)}}`],
    ['wcp', `{"format": "wcp", "record": ${edge.record_json_text.replace('sha256:to-be-ignored', edge.expected_artifact_hash)}}`],
  ];
}

/**
 * Issue a receipt of every body through the service at `url` (admin token), then rotate the service key to ES256
 * and issue one more dsse receipt ('dsse es256'). Returns [label, receipt] in that order and a `post` for more.
 */
export async function issueEveryFormat(url: string, adminToken: string, bodies: Array<[string, string | object]>) {
  const auth = { authorization: `Bearer ${adminToken}` };
  const post = async (body: string | object) => {
    const r = await fetch(url + '/v1/receipts', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const j = (await r.json()) as any;
    assert.equal(r.status, 201, JSON.stringify(j));
    return j;
  };
  const receipts: Array<[string, any]> = [];
  for (const [label, body] of bodies) receipts.push([label, await post(body)]);
  const rot = await fetch(url + '/v1/keys/rotate', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ alg: 'es256' }) });
  assert.equal(rot.status, 201, await rot.clone().text());
  receipts.push(['dsse es256', await post(bodies[1]![1])]);
  return { receipts, post };
}

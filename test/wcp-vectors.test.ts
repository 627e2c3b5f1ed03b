/**
 * WCP profile against ../shared/vectors/wcp: canonical_package_hash (every case, python and bytewise orders),
 * awp.v1 manifests byte for byte (payload, HMAC, file text), registry artifact_hash, and the Python column of the
 * verifier matrix (every row), plus strict-mode deviations.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalPackageHash, packageHashInput, comparePythonPaths, compareBytewise } from '../src/profiles/wcp/package-hash.ts';
import { buildManifest, manifestFileText, signingPayload, hmacHex, deriveNamespace } from '../src/profiles/wcp/manifest.ts';
import { computeArtifactHash, artifactHashPreimage, parseRecord, verifyArtifactHash } from '../src/profiles/wcp/registry.ts';
import { verifyPackage } from '../src/profiles/wcp/verify.ts';
import { canonicalizePython } from '../src/kernel/json/index.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const V = path.resolve(repoRoot, '../shared/vectors/wcp');
const load = (p: string) => JSON.parse(fs.readFileSync(path.join(V, p), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-wcp-v-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PH = load('package-hash-vectors.json');
const MV = load('manifest-vectors.json');
const RV = load('registry-artifact-hash-vectors.json');
const GO = 'pyhall-go rule (bytewise sort; recomputed by harness, Go not run)';

let dirN = 0;
function materialise(files: Record<string, Buffer>): string {
  const root = path.join(tmp, `pkg-${dirN++}`);
  fs.mkdirSync(root, { recursive: true });
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  }
  return root;
}
const caseFiles = (c: { files: Array<{ path: string; content_b64: string }> }) => Object.fromEntries(c.files.map((f) => [f.path, Buffer.from(f.content_b64, 'base64')]));

test('canonical_package_hash: every case, python and bytewise orders, inline and worker threads', async () => {
  let n = 0;
  for (const c of PH.cases) {
    const root = materialise(caseFiles(c));
    for (const workers of [0, 2]) {
      const py = await canonicalPackageHash(root, { order: 'python', workers });
      assert.equal(py.hash, c.expected_package_hash, `${c.id} python`);
      assert.equal(py.hash, c.by_implementation['pyhall-python (run)'], c.id);
      assert.deepEqual(py.records.map((r) => r.rel), c.orders.python_component, `${c.id} python order`);
      assert.equal(packageHashInput(py.records), c.hash_input_python, `${c.id} hash input`);
      const bw = await canonicalPackageHash(root, { order: 'bytewise', workers });
      assert.equal(bw.hash, c.by_implementation[GO], `${c.id} bytewise`);
      assert.deepEqual(bw.records.map((r) => r.rel), c.orders.go_bytewise, `${c.id} bytewise order`);
      n++;
    }
    if (c.same_hash_as) assert.equal(c.expected_package_hash, PH.cases.find((x: { id: string }) => x.id === c.same_hash_as).expected_package_hash);
  }
  assert.equal(n, PH.cases.length * 2);
  process.stdout.write(`# package-hash: ${PH.cases.length} cases x 2 orders x 2 hashing paths\n`);
});

test('root path probe: a root below __pycache__ is NOT an empty package (relative exclusions only)', async () => {
  const basic = PH.cases.find((c: { id: string }) => c.id === 'basic');
  const root = path.join(tmp, '__pycache__', '.git', 'pkg');
  for (const [rel, data] of Object.entries(caseFiles(basic))) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  }
  const r = await canonicalPackageHash(root);
  assert.notEqual(r.hash, PH.root_path_probe.python_hash_when_root_is_under___pycache__);
  assert.equal(r.hash, basic.expected_package_hash);
});

test('sort orders are code-point based, never locale', () => {
  const sep = PH.cases.find((c: { id: string }) => c.id === 'separator-order');
  assert.deepEqual([...sep.orders.go_bytewise].sort(comparePythonPaths), sep.orders.python_component);
  assert.deepEqual([...sep.orders.python_component].sort(compareBytewise), sep.orders.go_bytewise);
});

test('awp.v1 manifests: payload, HMAC, manifest object and file text byte for byte', () => {
  for (const v of MV.manifests) {
    const i = v.inputs;
    const m = buildManifest({
      workerId: i.worker_id,
      species: i.worker_species_id,
      version: i.worker_version,
      packageHash: v.manifest.package_hash,
      builtAt: new Date(i.clock_utc),
      buildSource: i.build_source,
      secret: i.signing_secret_utf8,
    });
    assert.equal(signingPayload(m), v.signing_payload_utf8, `${v.id} payload`);
    assert.deepEqual(m, v.manifest, `${v.id} manifest`);
    assert.equal(manifestFileText(m), v.manifest_file_text, `${v.id} file text`);
    assert.equal(hmacHex(i.signing_secret_utf8, v.typescript_payload_utf8), v.typescript_hmac, `${v.id} ts hmac`);
    assert.equal(m.signature_hmac_sha256 === v.typescript_hmac, v.ts_matches_python, `${v.id} ts agreement`);
  }
  assert.equal(MV.manifests.length, 4);
  assert.throws(() => deriveNamespace('wrk.example.bad'), { code: 'ATTEST_NAMESPACE_INVALID' });
  assert.match(MV.build_with_non_tenant_worker_id, /ValueError/);
});

test('package hashes of manifest inputs reproduce (basic + lowercase package)', async () => {
  const low = materialise(Object.fromEntries(Object.entries(MV.lowercase_package_files as Record<string, string>).map(([k, s]) => [k, Buffer.from(s)])));
  const m = MV.manifests.find((x: { id: string }) => x.id === 'org-lowercase-package');
  assert.equal((await canonicalPackageHash(low)).hash, m.manifest.package_hash);
  assert.equal((await canonicalPackageHash(low, { order: 'bytewise' })).hash, m.manifest.package_hash);
});

test('registry artifact_hash: compute + verify every vector; tamper detected', () => {
  for (const v of RV.vectors) {
    const rec = parseRecord(v.record_json_text, 'compat');
    assert.equal(artifactHashPreimage(rec), v.hash_preimage_utf8, v.id);
    assert.equal(computeArtifactHash(rec), v.expected_artifact_hash, v.id);
    const withHash = parseRecord(canonicalizePython({ ...JSON.parse(v.record_json_text), artifact_hash: v.expected_artifact_hash }), 'strict');
    // re-parse of a JSON.parse'd record loses 1.0 → 1, so only check verify on the lossless text
    if (v.id !== 'synthetic-edge') assert.equal(verifyArtifactHash(withHash).ok, true, v.id);
    const text = v.record_json_text.trimEnd().replace(/}$/, '') + (v.record_json_text.includes('"artifact_hash"') ? '' : `, "artifact_hash": "${v.expected_artifact_hash}"`) + '}';
    const lossless = parseRecord(v.id === 'synthetic-edge' ? v.record_json_text.replace('sha256:to-be-ignored', v.expected_artifact_hash) : text, 'compat');
    assert.equal(verifyArtifactHash(lossless).ok, true, `${v.id} verify`);
    const tampered = parseRecord(v.id === 'synthetic-edge' ? v.record_json_text.replace('sha256:to-be-ignored', v.expected_artifact_hash).replace('"low"', '"high"') : text.replace('"low"', '"high"'), 'compat');
    assert.equal(verifyArtifactHash(tampered).ok, false, `${v.id} tamper`);
    // without the prefix (the upstream error text's advice) does not verify
    const noPrefix = parseRecord(v.id === 'synthetic-edge' ? v.record_json_text.replace('sha256:to-be-ignored', v.expected_artifact_hash.slice(7)) : text.replace(v.expected_artifact_hash, v.expected_artifact_hash.slice(7)), 'compat');
    assert.equal(verifyArtifactHash(noPrefix).ok, false, `${v.id} no prefix`);
  }
  const upstream: Record<string, string> = { 'ts-hello-worker.registry-record.json': 'ts-hello-worker', 'go-hello_worker.registry_record.json': 'go-hello-worker' };
  for (const [f, id] of Object.entries(upstream)) {
    const rec = parseRecord(fs.readFileSync(path.join(V, 'upstream', f)), 'strict');
    assert.equal(computeArtifactHash(rec), RV.vectors.find((v: { id: string }) => v.id === id).expected_artifact_hash, f);
  }
  assert.equal(RV.vectors.length, 3);
});

// ---------------------------------------------------------------- verifier matrix (Python column)

const SECRET = 'test-secret-key';
const ID = 'org.example.my-worker.instance-1';
const SPECIES = 'wrk.example.my-worker';

function packageFor(row: { package: string }): { files: Record<string, Buffer>; manifest: Record<string, unknown> } {
  if (row.package.startsWith('basic')) {
    return { files: caseFiles(PH.cases.find((c: { id: string }) => c.id === 'basic')), manifest: MV.manifests.find((m: { id: string }) => m.id === 'org-basic').manifest };
  }
  const files = Object.fromEntries(Object.entries(MV.lowercase_package_files as Record<string, string>).map(([k, s]) => [k, Buffer.from(s)]));
  return { files, manifest: MV.manifests.find((m: { id: string }) => m.id === 'org-lowercase-package').manifest };
}

interface Row { scenario: string; package: string; python: { ok: boolean; deny: string | null }; manifest_used?: Record<string, unknown> }

async function runRow(row: Row, mode: 'compat' | 'strict') {
  const { files, manifest } = packageFor(row);
  const root = materialise(files);
  fs.writeFileSync(path.join(root, 'manifest.json'), manifestFileText(row.manifest_used ?? manifest));
  let workerId = ID;
  let secret: string | undefined = SECRET;
  switch (row.scenario) {
    case 'manifest absent':
      fs.rmSync(path.join(root, 'manifest.json'));
      break;
    case 'worker_id mismatch':
      workerId = 'org.example.other-worker';
      break;
    case 'file content changed':
      fs.appendFileSync(path.join(root, 'code/logic.txt'), 'x');
      break;
    case 'file added':
      fs.writeFileSync(path.join(root, 'extra.txt'), 'new');
      break;
    case 'excluded file added (__pycache__/a.pyc, .DS_Store)':
      fs.mkdirSync(path.join(root, '__pycache__'));
      fs.writeFileSync(path.join(root, '__pycache__/a.pyc'), 'x');
      fs.writeFileSync(path.join(root, '.DS_Store'), 'x');
      break;
    case 'secret env unset':
      secret = undefined;
      break;
    case 'wrong secret':
      secret = 'wrong-secret';
      break;
    case 'valid HMAC but worker_id not x.*/org.*':
      workerId = 'wrk.example.bad';
      break;
  }
  return verifyPackage(root, { mode, workerId, species: SPECIES, secret });
}

const pyDeny = (d: string | null) => (d === 'EXCEPTION: ValueError' ? 'ATTEST_NAMESPACE_INVALID' : d);
const EXIT: Record<string, number> = {
  ATTEST_MANIFEST_MISSING: 10,
  ATTEST_MANIFEST_ID_MISMATCH: 1,
  ATTEST_HASH_MISMATCH: 2,
  ATTEST_SIGNATURE_MISSING: 3,
  ATTEST_SIG_INVALID: 3,
  ATTEST_NAMESPACE_INVALID: 1,
};

test('verifier matrix: compat agrees with the Python column on every row (deny code + exit code)', async () => {
  const rows = MV.verifier_matrix as Row[];
  for (const row of rows) {
    const r = await runRow(row, 'compat');
    const label = `${row.package} / ${row.scenario}`;
    assert.equal(r.valid, row.python.ok, label);
    const deny = pyDeny(row.python.deny);
    if (deny) {
      assert.equal(r.failures.length, 1, label);
      assert.equal(r.failures[0]!.code, deny, label);
      const exit = row.scenario === 'secret env unset' ? 4 : EXIT[deny]!;
      assert.equal(r.exitCode, exit, label);
      assert.equal(r.toJSON().checks.find((c) => !c.ok)!.code, deny);
    } else assert.equal(r.exitCode, 0, label);
  }
  assert.equal(rows.length, 29);
  process.stdout.write(`# verifier matrix: ${rows.length} rows asserted (compat)\n`);
});

test('verifier matrix in strict mode: same deny codes, plus unsigned-field edits reported', async () => {
  for (const row of MV.verifier_matrix as Row[]) {
    const r = await runRow(row, 'strict');
    const label = `${row.package} / ${row.scenario}`;
    if (row.scenario.startsWith('unsigned field changed')) {
      assert.equal(r.valid, false, label);
      assert.equal(r.failures[0]!.code, 'WCP_TRUST_STATEMENT_MISMATCH');
      assert.equal(r.exitCode, 2);
      continue;
    }
    if (row.scenario.startsWith('excluded file added')) {
      // the hash excludes __pycache__/*.pyc (upstream keeps it valid), but Python would run it: strict refuses (#20)
      assert.equal(r.valid, false, label);
      assert.deepEqual(r.failures.map((f) => f.code), ['WCP_UNHASHED_CODE'], label);
      assert.equal(r.exitCode, 2);
      continue;
    }
    assert.equal(r.valid, row.python.ok, label);
    if (!row.python.ok) assert.equal(r.failures[0]!.code, pyDeny(row.python.deny), label);
    else assert.ok(r.checks.some((c) => c.code === 'WCP_UNSIGNED_FIELDS'), 'unauthenticated fields flagged');
  }
});

test('sortRecords (keyed sort) equals sorting by comparePythonPaths / compareBytewise on tricky paths', async () => {
  const { sortRecords } = await import('../src/profiles/wcp/package-hash.ts');
  const names = ['a', 'a-b', 'a.b', 'a/b', 'a/b/c', 'a-b/c', 'ab', 'a b', 'A', 'é', 'é/x', 'e\u0301', '\uffff', '\ud83d\ude00', '\ud83d\ude00/a', 'z/\ud83d\ude00', 'z/\uff61', '0', '0/0', '00', '~', 'a/b-c', 'a/b/d', 'a/bc'];
  let seed = 5;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let k = 0; k < 200; k++) {
    const pick = Array.from({ length: 2 + rnd(12) }, () => names[rnd(names.length)]! + (rnd(3) ? '' : '/' + names[rnd(names.length)]!));
    for (const order of ['python', 'bytewise'] as const) {
      const want = [...pick].sort(order === 'python' ? comparePythonPaths : compareBytewise);
      assert.deepEqual(sortRecords(pick.map((rel) => ({ rel })), order).map((r) => r.rel), want, `${order}: ${JSON.stringify(pick)}`);
    }
  }
});

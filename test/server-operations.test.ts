/**
 * Operational conventions of the service (issue #19): /metrics in the Prometheus text format (a strict parser of
 * the exposition rules, histograms included), X-Request-Id round-trip (responses and log lines), the generated
 * OpenAPI document (validated by @readme/openapi-parser; operationIds, bearer scopes, content types, path
 * templates) and the configurable receipt payload limit (PAYLOAD_TOO_LARGE).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { validate, compileErrors } from '@readme/openapi-parser';
import { startService, type RunningService } from '../src/server/service.ts';
import { MAX_PAYLOAD_LIMIT_BYTES } from '../src/receipts/receipt.ts';

// ---------------------------------------------------------------- Prometheus text format 0.0.4, strictly

interface Family {
  name: string;
  help?: string;
  type?: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** The family a sample belongs to (histogram/summary samples carry a suffix). */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    assert.ok(eq > i, `${where}: label without "="`);
    const name = text.slice(i, eq);
    assert.match(name, LABEL_NAME, `${where}: label name ${name}`);
    assert.ok(!(name in labels), `${where}: duplicate label ${name}`);
    assert.equal(text[eq + 1], '"', `${where}: label value must be quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const e = text[++j];
        assert.ok(e === '\\' || e === '"' || e === 'n', `${where}: bad escape \\${e}`);
        value += e === 'n' ? '\n' : e;
      } else {
        assert.notEqual(text[j], '\n', `${where}: raw newline in a label value`);
        value += text[j];
      }
    }
    assert.equal(text[j], '"', `${where}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else assert.equal(i, text.length, `${where}: expected "," between labels`);
  }
  return labels;
}

function parseValue(v: string, where: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  assert.match(v, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `${where}: value ${v}`);
  return Number(v);
}

/** Parse the text exposition format, enforcing its rules; throws (assert) on any violation. */
export function parsePrometheusText(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  let current: Family | undefined;
  const seen = new Set<string>();
  text.split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest = ''] = m;
      assert.match(name!, METRIC_NAME, `${where}: metric name`);
      let f = families.get(name!);
      if (!f) {
        assert.ok(!finished.has(name!), `${where}: ${name} reappears after other families`);
        f = { name: name!, samples: [] };
        families.set(name!, f);
      }
      if (current && current !== f) finished.add(current.name);
      current = f;
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `${where}: second HELP for ${name}`);
        f.help = rest;
      } else {
        assert.equal(f.type, undefined, `${where}: second TYPE for ${name}`);
        assert.equal(f.samples.length, 0, `${where}: TYPE for ${name} after its samples`);
        assert.ok(TYPES.has(rest), `${where}: type ${rest}`);
        f.type = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `${where}: not a sample: ${line}`);
    const [, name, labelText = '', value] = m!;
    const f = familyOf(name!, families);
    assert.ok(f, `${where}: sample ${name} has no HELP/TYPE family`);
    assert.equal(f, current, `${where}: sample ${name} outside its family's block`);
    const labels = parseLabels(labelText, where);
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    assert.ok(!seen.has(key), `${where}: duplicate series ${key}`);
    seen.add(key);
    f!.samples.push({ name: name!, labels, value: parseValue(value!, where) });
  });
  for (const f of families.values()) {
    assert.ok(f.help !== undefined && f.help.length > 0, `${f.name} has a HELP line`);
    assert.ok(f.type !== undefined, `${f.name} has a TYPE line`);
    if (f.type === 'counter') for (const s of f.samples) assert.ok(s.value >= 0, `${s.name} counter is non-negative`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

/** Buckets cumulative, `le` ascending to +Inf, `_count` = the +Inf bucket, per label set. */
function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(k) ?? { buckets: [] };
    groups.set(k, g);
    if (s.name.endsWith('_bucket')) {
      assert.ok(le !== undefined, `${s.name} bucket has le`);
      g.buckets.push([parseValue(le!, s.name), s.value]);
    } else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
  }
  for (const [k, g] of groups) {
    assert.ok(g.buckets.length > 1, `${f.name}${k}: buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      assert.ok(g.buckets[i]![0] > g.buckets[i - 1]![0], `${f.name}${k}: le ascending`);
      assert.ok(g.buckets[i]![1] >= g.buckets[i - 1]![1], `${f.name}${k}: buckets cumulative`);
    }
    assert.equal(g.buckets.at(-1)![0], Infinity, `${f.name}${k}: last bucket le="+Inf"`);
    assert.equal(g.count, g.buckets.at(-1)![1], `${f.name}${k}: _count equals the +Inf bucket`);
    assert.ok(g.sum !== undefined, `${f.name}${k}: _sum`);
  }
}

test('the Prometheus parser of this test refuses what the format forbids', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n';
  parsePrometheusText(ok);
  const bad = [
    'a_total 1\n', // no HELP/TYPE
    '# HELP a_total A.\na_total 1\n', // no TYPE
    '# HELP a_total A.\n# TYPE a_total counter\na_total{x=1} 2\n', // unquoted
    '# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n', // duplicate series
    '# HELP h A.\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# HELP h A.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="2"} 1\nh_sum 1\nh_count 1\n', // no +Inf
    '# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\na 1\n', // sample outside its block
    ok.trimEnd(), // no final line feed
  ];
  for (const b of bad) assert.throws(() => parsePrometheusText(b), assert.AssertionError, JSON.stringify(b));
});

// ---------------------------------------------------------------- the service

async function withService(opts: Partial<Parameters<typeof startService>[0]>, fn: (s: RunningService, logs: string[]) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-ops-'));
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const s = await startService({ dataDir: dir, host: '127.0.0.1', port: 0, logger: { level: 'info', stream }, ...opts });
  try {
    await fn(s, logs);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const statement = (pad = 0) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'a.txt', digest: { sha256: 'a'.repeat(64) } }],
  predicateType: 'https://example.com/p/v1',
  predicate: { note: 'x'.repeat(pad) },
});

test('metrics, request ids, OpenAPI, receipt payload limit', async () => {
  await withService({}, async (s, logs) => {
    const auth = { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' };

    // ---- request ids: honoured when valid, generated otherwise, on every response (404, 401, 400) and log line
    const mine = 'req-1234.abc:Z/9+=@_';
    let res = await fetch(s.url + '/healthz', { headers: { 'x-request-id': mine } });
    assert.equal(res.headers.get('x-request-id'), mine);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const bad of ['has space', 'x'.repeat(129), 'ünï', '']) {
      res = await fetch(s.url + '/nope', { headers: { 'x-request-id': bad } });
      assert.equal(res.status, 404);
      assert.match(res.headers.get('x-request-id') ?? '', uuid, `replaced: ${JSON.stringify(bad)}`);
    }
    res = await fetch(s.url + '/healthz');
    const generated = res.headers.get('x-request-id') ?? '';
    assert.match(generated, uuid);
    assert.equal((await fetch(s.url + '/v1/tokens', { method: 'POST', headers: { 'x-request-id': 'unauth-1', 'content-type': 'application/json' }, body: '{}' })).headers.get('x-request-id'), 'unauth-1');
    res = await fetch(s.url + '/v1/verify', { method: 'POST', headers: { 'x-request-id': 'badjson-1', 'content-type': 'application/json' }, body: '{"a":1,"a":2}' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-request-id'), 'badjson-1');
    await new Promise((r) => setTimeout(r, 50));
    const lines = logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
    const ofMine = lines.filter((l) => l.reqId === mine);
    assert.ok(ofMine.some((l) => l.msg === 'incoming request') && ofMine.some((l) => l.msg === 'request completed'), 'the id is in the request log lines');
    assert.ok(lines.some((l) => l.reqId === generated), 'a generated id is logged too');
    const requestLines = lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
    assert.ok(requestLines.length >= 10 && requestLines.every((l) => typeof l.reqId === 'string' && l.reqId.length > 0), 'every request log line has an id');

    // ---- traffic for the metrics: a verify, a receipt
    res = await fetch(s.url + '/v1/verify', { method: 'POST', headers: auth, body: JSON.stringify({ artifact: { nothing: true } }) });
    assert.equal(res.status, 200);
    res = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: auth, body: JSON.stringify({ format: 'in-toto', statement: statement() }) });
    assert.equal(res.status, 201, await res.clone().text());

    // ---- receipt payload limit: default 40 KiB; 413 PAYLOAD_TOO_LARGE with a message naming both sizes
    res = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: auth, body: JSON.stringify({ format: 'in-toto', statement: statement(41 * 1024) }) });
    assert.equal(res.status, 413);
    const refusal = (await res.json()) as { error: string; message: string };
    assert.equal(refusal.error, 'PAYLOAD_TOO_LARGE');
    assert.match(refusal.message, /over the limit of 40960 bytes/);

    // ---- /metrics: the text format, HELP/TYPE everywhere, the families operators need
    res = await fetch(s.url + '/metrics');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await res.text());
    const fam = (n: string) => {
      const f = families.get(n);
      assert.ok(f, `family ${n}`);
      return f!;
    };
    const all = [...families.values()].flatMap((f) => f.samples);
    const sample = (n: string, labels: Record<string, string> = {}) => all.find((x) => x.name === n && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.equal(fam('evident_http_request_duration_seconds').type, 'histogram');
    assert.ok(sample('evident_http_request_duration_seconds_count', { route: '/v1/receipts', method: 'POST', status: '201' })!.value >= 1, 'latency per route');
    assert.ok(sample('evident_http_request_duration_seconds_bucket', { route: '/healthz', le: '+Inf' }));
    assert.ok(sample('evident_http_requests_total', { method: 'POST', route: '/v1/verify', status: '200' })!.value >= 1);
    assert.equal(sample('evident_http_requests_total', { route: 'unknown', status: '404' })!.value, 4, '404s share one route label');
    assert.equal(sample('evident_receipts_issued_total')!.value, 1);
    assert.equal(sample('evident_verify_total', { format: 'unknown', valid: 'false', exit_code: '10' })!.value, 1);
    assert.equal(sample('evident_log_size')!.value, 1);
    assert.equal(sample('evident_log_sequencer')!.value, 1);
    assert.ok(sample('evident_log_checkpoint_age_seconds')!.value >= 0);
    assert.equal(sample('evident_log_pending_appends', { state: 'forwarded' })!.value, 0);
    assert.equal(fam('evident_process_resident_memory_bytes').type, 'gauge');
    assert.ok(families.has('evident_nodejs_eventloop_lag_seconds'), 'event-loop metrics');

    // ---- OpenAPI: a real validator, then the conventions
    res = await fetch(s.url + '/openapi.json');
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string; security?: Array<Record<string, string[]>>; responses: Record<string, { content?: Record<string, unknown> }> }>>;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    };
    const result = await validate(structuredClone(doc) as never);
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.securitySchemes.bearer && { type: doc.components.securitySchemes.bearer.type, scheme: doc.components.securitySchemes.bearer.scheme }, { type: 'http', scheme: 'bearer' });
    const ids = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      assert.ok(!/[*:]/.test(p), `path template ${p}`);
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(op.operationId, `${method} ${p} has an operationId`);
        assert.ok(!ids.has(op.operationId!), `operationId ${op.operationId} is unique`);
        ids.add(op.operationId!);
      }
    }
    assert.deepEqual(doc.paths['/v1/receipts']!.post!.security, [{ bearer: ['issue'] }]);
    assert.deepEqual(doc.paths['/v1/tokens']!.post!.security, [{ bearer: ['admin'] }]);
    assert.deepEqual(doc.paths['/v1/seals']!.post!.security, [{ bearer: ['register'] }]);
    assert.equal(doc.paths['/v1/verify']!.post!.security, undefined, 'public');
    assert.equal(doc.paths['/v1/keys/{kid}']!.get!.operationId, 'getV1KeysByKid');
    assert.deepEqual(Object.keys(doc.paths['/checkpoint']!.get!.responses['200']!.content!), ['text/plain; charset=utf-8']);
    assert.deepEqual(Object.keys(doc.paths['/metrics']!.get!.responses['200']!.content!), ['text/plain; version=0.0.4; charset=utf-8']);
    assert.deepEqual(Object.keys(doc.paths['/tile/{tile_path}']!.get!.responses['200']!.content!), ['application/octet-stream']);

    // the validator is real: a broken copy fails
    const broken = structuredClone(doc) as { paths: Record<string, unknown> };
    broken.paths['/v1/things/{thing}'] = { get: { operationId: 'getV1Keys', responses: { 200: { description: 'x' } } } };
    assert.equal((await validate(broken as never)).valid, false);
  });
});

test('receipt payload limit is configurable (and bounded)', async () => {
  await withService({ maxReceiptPayload: 2048 }, async (s) => {
    const auth = { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' };
    let res = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: auth, body: JSON.stringify({ format: 'in-toto', statement: statement(1500) }) });
    assert.equal(res.status, 201);
    res = await fetch(s.url + '/v1/receipts', { method: 'POST', headers: auth, body: JSON.stringify({ format: 'dsse', payload_type: 'text/plain', payload_base64: Buffer.alloc(2049, 1).toString('base64') }) });
    assert.equal(res.status, 413);
    const refusal = (await res.json()) as { error: string; message: string };
    assert.equal(refusal.error, 'PAYLOAD_TOO_LARGE');
    assert.match(refusal.message, /2049 bytes, over the limit of 2048 bytes/);
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evident-ops-'));
  try {
    await assert.rejects(startService({ dataDir: dir, host: '127.0.0.1', port: 0, maxReceiptPayload: MAX_PAYLOAD_LIMIT_BYTES + 1 }), /receipt payload limit must be 1\.\.48128 bytes/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

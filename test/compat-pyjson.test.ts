/**
 * kernel/json/pyjson.ts (Python `json.loads` semantics, used by the ELI and WCP compat modes) against CPython 3.11:
 * the recorded results of json.loads on random edge-case inputs (test/compat-upstream/python-json-loads.json), each
 * re-serialised as json.dumps(sort_keys=True, ensure_ascii=True) writes it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parsePythonJson, parsePythonJsonFast } from '../src/kernel/json/pyjson.ts';
import { canonicalizePython } from '../src/kernel/json/index.ts';

const DATA = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'compat-upstream/python-json-loads.json'), 'utf8')) as { cases: Array<[string, string]> };
const dumps = (v: unknown) => canonicalizePython(v, { ensureAscii: true, allowNan: true, loneSurrogates: true });

test('parsePythonJson(bytes) = CPython json.loads(bytes) on 400 recorded inputs (values and refusals)', () => {
  let valid = 0;
  for (const [hex, want] of DATA.cases) {
    const b = Buffer.from(hex, 'hex');
    let got: string;
    try {
      got = 'V:' + dumps(parsePythonJson(b, { source: 'bytes' }));
    } catch {
      got = 'E';
    }
    assert.equal(got, want, JSON.stringify(b.toString('latin1')));
    // the fast entry point (strict kernel parser first) gives the same answer
    let fast: string;
    try {
      fast = 'V:' + dumps(parsePythonJsonFast(b, { source: 'bytes' }));
    } catch {
      fast = 'E';
    }
    assert.equal(fast, want, JSON.stringify(b.toString('latin1')));
    if (want.startsWith('V')) valid++;
  }
  assert.ok(valid > 100 && valid < 350, `both outcomes exercised (${valid} valid)`);
});

test('source text (json.load of a file) refuses a BOM and non-UTF-8 bytes; source bytes skips the BOM', () => {
  const bom = Buffer.from('\ufeff{"a":1}');
  assert.throws(() => parsePythonJson(bom, { source: 'text' }), /Unexpected UTF-8 BOM/);
  assert.deepEqual(dumps(parsePythonJson(bom, { source: 'bytes' })), '{"a":1}');
  assert.throws(() => parsePythonJson(Buffer.from([0x22, 0xff, 0x22]), { source: 'text' }), (e: { code?: string }) => e.code === 'JSON_BAD_UTF8');
  // surrogatepass: json.loads(bytes) decodes an encoded surrogate; a text file read does not
  const sur = Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]);
  assert.equal(dumps(parsePythonJson(sur, { source: 'bytes' })), '"\\ud800"');
  assert.throws(() => parsePythonJson(sur, { source: 'text' }), (e: { code?: string }) => e.code === 'JSON_BAD_UTF8');
  // UTF-16 detected by its zero bytes, as json.detect_encoding does
  assert.equal(dumps(parsePythonJson(Buffer.from('{"a":[1.5]}', 'utf16le'), { source: 'bytes' })), '{"a":[1.5]}');
});

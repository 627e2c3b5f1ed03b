/**
 * Kernel JSON: lossless parser limits and error codes, RFC 8785 (JCS) vectors and the ES6 number test file,
 * Python json.dumps profile (ELI json_c14n_v1 edge vectors + upstream canonicalization vectors).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  parseJson,
  canonicalizeJcs,
  canonicalizePython,
  formatJcsNumber,
  formatPythonFloat,
  stableFile,
  stableJsonl,
  JsonNumber,
  toPlain,
  sortCodePoints,
  type JsonValue,
} from '../src/kernel/json/index.ts';
import { EvidentError } from '../src/kernel/errors.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VECTORS = process.env.EVIDENT_VECTORS ?? path.resolve(repoRoot, '../shared/vectors');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidentError, `expected EvidentError, got ${String(e)}`);
    return e.code;
  }
  return 'NO_ERROR';
}

test('parser: lexemes kept, big ints exact, typed errors for every bad input', () => {
  const v = parseJson('{"a":1.0,"b":9007199254740993,"c":-0,"d":1E2}') as Record<string, JsonNumber>;
  assert.equal(v.a!.lexeme, '1.0');
  assert.equal(v.a!.isInteger, false);
  assert.equal(v.b!.toBigInt(), 9007199254740993n);
  assert.equal(v.d!.isInteger, false);
  assert.equal(code(() => parseJson('{"a":1,"a":2}')), 'JSON_DUPLICATE_KEY');
  assert.deepEqual(toPlain(parseJson('{"a":1,"a":2}', { duplicateKeys: 'last-wins' })), { a: 2 });
  assert.equal(code(() => parseJson('"\\ud800"')), 'JSON_LONE_SURROGATE');
  assert.equal(code(() => parseJson('"\\udc00x"')), 'JSON_LONE_SURROGATE');
  assert.equal(code(() => parseJson('[1,]')), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson('{"a":NaN}')), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson('01')), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson('')), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson('{} x')), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson(Uint8Array.from([0x22, 0xff, 0x22]))), 'JSON_BAD_UTF8');
  assert.equal(code(() => parseJson('[1,2,3]', { maxBytes: 4 })), 'JSON_TOO_LARGE');
  // depth: 1000 is fine, 1001 is refused; a million brackets never overflow the stack
  assert.doesNotThrow(() => parseJson('['.repeat(1000) + ']'.repeat(1000)));
  assert.equal(code(() => parseJson('['.repeat(1001) + ']'.repeat(1001))), 'JSON_TOO_DEEP');
  assert.equal(code(() => parseJson('[{"a":'.repeat(500_000))), 'JSON_TOO_DEEP');
  assert.equal(code(() => parseJson('['.repeat(20), { maxDepth: 10 })), 'JSON_TOO_DEEP');
  // __proto__ is an ordinary key
  const p = parseJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.equal(canonicalizeJcs(toPlain(p as never)), '{"__proto__":{"x":1}}');
});

/** Deterministic PRNG (mulberry32) for the generated documents below. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

// names share prefixes (ab/abc), hold non-ASCII (é, and "Ã©": é's UTF-8 bytes read as Latin-1) and escapes, so
// the parser's name memory sees near misses between text and byte parses
const NAMES = ['a', 'ab', 'abc', 'b', 'é', 'Ã©', '\\u00e9', 'x\\"y', '中', '😀', 'k\\\\', '\\ud83d\\ude00', 'policy', 'policy_x', ''];
const PIECES = ['a', 'Z', ' ', 'é', 'ß', '中', '😀', '\\uE000', '\\uFFFF', '\\n', '\\"', '\\\\', '\\/', '\\u00e9', '\\ud83d\\ude00', '\\t', 'x1', '\\u0000', '\u2028', '\x7f'];

function genText(r: (n: number) => number, depth: number, escapes: boolean): string {
  const pick = <T,>(a: readonly T[]): T => a[r(a.length)]!;
  const str = (): string => {
    let s = '';
    for (let k = r(6); k > 0; k--) {
      const p = pick(PIECES);
      s += escapes || !p.includes('\\') ? p : 'q';
    }
    return '"' + s + '"';
  };
  const t = depth > 3 ? r(5) : r(8);
  if (t === 0) return str();
  if (t === 1) return pick(['0', '-0', '1.0', '1e2', '-12.5E-3', '9007199254740993', '0.1']);
  if (t === 2) return pick(['true', 'false', 'null']);
  if (t === 3 || t === 4) return str();
  if (t === 5) {
    const items: string[] = [];
    for (let k = r(4); k > 0; k--) items.push(genText(r, depth + 1, escapes));
    return '[' + items.join(pick([',', ' , ', ',\n  '])) + ']';
  }
  const seen = new Set<string>();
  const members: string[] = [];
  for (let k = r(5); k > 0; k--) {
    const name = pick(NAMES);
    if (seen.has(name) || (!escapes && name.includes('\\'))) continue;
    seen.add(name);
    members.push('"' + name + '"' + pick([':', ' : ']) + genText(r, depth + 1, escapes));
  }
  return '{' + members.join(pick([',', ',\n '])) + '}';
}

test('parser: UTF-8 bytes (read as Latin-1, non-ASCII tokens decoded alone) parse exactly as text; name memory never misreads', () => {
  const r = prng(20261126);
  const canon = (v: JsonValue): string => canonicalizePython(v, { ensureAscii: true });
  for (let i = 0; i < 20_000; i++) {
    const text = genText(r, 0, true);
    // ("😀" and its escaped form are one name: duplicates are possible, so Python's last-wins reading is used)
    const fromText = parseJson(text, { duplicateKeys: 'last-wins' });
    const fromBytes = parseJson(Buffer.from(text, 'utf8'), { duplicateKeys: 'last-wins' });
    assert.equal(canon(fromBytes), canon(fromText), text);
    assert.deepEqual(toPlain(fromBytes), JSON.parse(text), text);
  }
  // a name remembered from text ("Ã©") is not taken for the bytes of "é", nor "ab" for "abc"
  parseJson('{"Ã©":1,"ab":2}');
  assert.deepEqual(Object.keys(parseJson(Buffer.from('{"é":1,"abc":2}')) as object), ['é', 'abc']);
  parseJson(Buffer.from('{"é":1,"abc":2}'));
  assert.deepEqual(Object.keys(parseJson('{"Ã©":1,"ab":2}') as object), ['Ã©', 'ab']);
  // byte input: errors at byte offsets, BOM and bad UTF-8 refused in either branch
  assert.throws(() => parseJson(Buffer.from('{"é":x}')), /unexpected character at position 6/);
  assert.throws(() => parseJson(Buffer.from('["é\\u12"]')), (e: unknown) => e instanceof EvidentError && e.code === 'JSON_SYNTAX');
  assert.throws(() => parseJson(Buffer.from('["é\\n\x01"]')), /control character/);
  assert.equal(code(() => parseJson(Buffer.from('\ufeff{}'))), 'JSON_SYNTAX');
  assert.equal(code(() => parseJson(Uint8Array.from([0x5b, 0x22, 0xc3, 0x22, 0x5d]))), 'JSON_BAD_UTF8');
  assert.equal(code(() => parseJson(Uint8Array.from([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]))), 'JSON_BAD_UTF8');
});

test('duplicate member names are found however the name tree has learned the shapes (skipped tests are safe)', () => {
  // learned in order, then a repeat of an earlier name
  for (let i = 0; i < 3; i++) parseJson('{"a":1,"b":2,"c":3}');
  assert.equal(code(() => parseJson('{"a":1,"b":2,"a":3}')), 'JSON_DUPLICATE_KEY');
  assert.equal(code(() => parseJson('{"a":1,"b":2,"c":3,"b":4}')), 'JSON_DUPLICATE_KEY');
  // a path holding a repeat, learned in last-wins mode, is then read in reject mode
  for (let i = 0; i < 3; i++) parseJson('{"x":1,"x":2,"y":3}', { duplicateKeys: 'last-wins' });
  assert.equal(code(() => parseJson('{"x":1,"x":2,"y":3}')), 'JSON_DUPLICATE_KEY');
  assert.equal(code(() => parseJson('{"x":1,"y":2,"x":3}')), 'JSON_DUPLICATE_KEY');
  // beyond the remembered path length (64 members) the tests are made as usual
  const wide = Array.from({ length: 200 }, (_, k) => `"m${k}":${k}`).join(',');
  for (let i = 0; i < 3; i++) parseJson(`{${wide}}`);
  assert.equal(code(() => parseJson(`{${wide},"m0":0}`)), 'JSON_DUPLICATE_KEY');
  assert.equal(code(() => parseJson(`{${wide},"m150":0}`)), 'JSON_DUPLICATE_KEY');
  // same names spelled with an escape (no node) or under another parent
  assert.equal(code(() => parseJson('{"a":1,"b":2,"\\u0061":3}')), 'JSON_DUPLICATE_KEY');
  assert.deepEqual(parseJson('{"p":{"a":1,"b":2},"q":{"a":1,"b":2}}'), { p: { a: new JsonNumber('1'), b: new JsonNumber('2') }, q: { a: new JsonNumber('1'), b: new JsonNumber('2') } });
  // generated: objects as explicit member lists over a few names, so whether a duplicate exists is known; shapes
  // repeat (the tree learns them) and mutate (it re-learns); nested objects and both modes interleaved
  const ri = prng(20261127);
  const r = () => ri(1_000_000) / 1_000_000;
  const NAMES = ['a', 'b', 'c', 'ab', 'abc', 'b\u0061', 'é', 'x'];
  const shapes: string[][] = [];
  const gen = (depth: number): { text: string; dup: boolean; value: unknown } => {
    let names: string[];
    if (shapes.length > 0 && r() < 0.6) {
      names = [...shapes[ri(shapes.length)]!];
      if (r() < 0.3) names[ri(names.length)] = NAMES[ri(NAMES.length)]!;
    } else {
      names = Array.from({ length: 1 + ri(6) }, () => NAMES[ri(NAMES.length)]!);
      if (shapes.length < 40) shapes.push(names);
    }
    const seen = new Set<string>();
    let dup = false;
    const value: Record<string, unknown> = {};
    const parts: string[] = [];
    names.forEach((n, k) => {
      const plain = n === 'b\\u0061' ? 'ba' : n;
      if (seen.has(plain)) dup = true;
      seen.add(plain);
      let member: string;
      let v: unknown;
      if (depth < 2 && r() < 0.25) {
        const inner = gen(depth + 1);
        dup ||= inner.dup;
        member = inner.text;
        v = inner.value;
      } else {
        member = String(k);
        v = k;
      }
      parts.push(`"${n}":${member}`);
      value[plain] = v;
    });
    return { text: '{' + parts.join(',') + '}', dup, value };
  };
  let dups = 0;
  for (let i = 0; i < 20_000; i++) {
    const { text, dup, value } = gen(0);
    const asBytes = r() < 0.5;
    const input = asBytes ? Buffer.from(text, 'utf8') : text;
    if (r() < 0.3) assert.deepEqual(toPlain(parseJson(input, { duplicateKeys: 'last-wins' })), value, text);
    if (dup) dups++;
    assert.equal(code(() => parseJson(input)), dup ? 'JSON_DUPLICATE_KEY' : 'NO_ERROR', text);
  }
  assert.ok(dups > 2000 && dups < 18_000, `both outcomes generated (${dups} with duplicates)`);
});

test('sortCodePoints equals code point order (insertion sort for small objects, native sort beyond)', () => {
  // (well-formed names only: a lone surrogate cannot be canonicalised, so its place in the order never shows)
  const r = prng(7);
  const pool = ['a', 'b', 'ab', '', 'é', '\\uE000', '\\uFFFF', '😀', '\\ud83d\\ude01', 'ｚ', 'A', 'aa'].map((x) => JSON.parse('"' + x + '"') as string);
  const ref = (a: string, b: string): number => {
    const x = Array.from(a, (c) => c.codePointAt(0)!);
    const y = Array.from(b, (c) => c.codePointAt(0)!);
    for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k]! - y[k]!;
    return x.length - y.length;
  };
  for (let i = 0; i < 5000; i++) {
    const keys: string[] = [];
    for (let k = r(30); k > 0; k--) keys.push(pool[r(pool.length)]! + pool[r(pool.length)]!);
    assert.deepEqual(sortCodePoints([...keys]), [...keys].sort(ref));
  }
});

test('plainStrings: values parsed from text without a backslash canonicalise the same without string tests', () => {
  const r = prng(99);
  for (let i = 0; i < 5000; i++) {
    const text = genText(r, 0, false);
    assert.ok(!text.includes('\\'));
    const v = parseJson(Buffer.from(text), { duplicateKeys: 'last-wins' });
    for (const ensureAscii of [false]) {
      assert.equal(canonicalizePython(v, { ensureAscii, plainStrings: true }), canonicalizePython(v, { ensureAscii }), text);
    }
  }
});

test('RFC 8785 reference vectors (6 cases, byte-exact via outhex)', () => {
  const dir = path.join(VECTORS, 'jcs');
  const names = fs.readdirSync(path.join(dir, 'input')).filter((f) => f.endsWith('.json')).sort();
  assert.equal(names.length, 6);
  for (const name of names) {
    const input = fs.readFileSync(path.join(dir, 'input', name));
    const hex = fs.readFileSync(path.join(dir, 'outhex', name.replace(/\.json$/, '.txt')), 'utf8').trim().split(/\s+/).join('');
    const expected = Buffer.from(hex, 'hex');
    assert.deepEqual(Buffer.from(fs.readFileSync(path.join(dir, 'output', name))), expected, `${name}: output/outhex agree`);
    const out = Buffer.from(canonicalizeJcs(parseJson(input)), 'utf8');
    assert.equal(out.toString('hex'), expected.toString('hex'), name);
  }
});

/**
 * ES6 number test file (cyberphone/json-canonicalization `testdata/numgen.go`, Apache-2.0): the static bit
 * patterns below are that generator's test data; the generator itself is re-implemented from its description.
 */
const ES6_STATIC = `
0000000000000000 8000000000000000 0000000000000001 8000000000000001 c46696695dbd1cc3 c43211ede4974a35 c3fce97ca0f21056 c3c7213080c1a6ac
c39280f39a348556 c35d9b1f5d20d557 c327af4c4a80aaac c2f2f2a36ecd5556 c2be51057e155558 c28840d131aaaaac c253670dc1555557 c21f0b4935555557
c1e8d5d42aaaaaac c1b3de4355555556 c17fca0555555556 c1496e6aaaaaaaab c114585555555555 c0e046aaaaaaaaab c0aa0aaaaaaaaaaa c074d55555555555
c040aaaaaaaaaaab c00aaaaaaaaaaaab bfd5555555555555 bfa1111111111111 bf6b4e81b4e81b4f bf35d867c3ece2a5 bf0179ec9cbd821e becbf647612f3696
be965e9f80f29212 be61e54c672874db be2ca213d840baf8 bdf6e80fe033c8c6 bdc2533fe68fd3d2 bd8d51ffd74c861c bd5774ccac3d3817 bd22c3d6f030f9ac
bcee0624b3818f79 bcb804ea293472c7 bc833721ba905bd3 bc4ebe9c5db3c61e bc18987d17c304e5 bbe3ad30dfcf371d bbaf7b816618582f bb792f9ab81379bf
bb442615600f9499 bb101e77800c76e1 bad9ca58cce0be35 baa4a1e0a3e6fe90 ba708180831f320d ba3a68cd9e985016 446696695dbd1cc3 443211ede4974a35
43fce97ca0f21056 43c7213080c1a6ac 439280f39a348556 435d9b1f5d20d557 4327af4c4a80aaac 42f2f2a36ecd5556 42be51057e155558 428840d131aaaaac
4253670dc1555557 421f0b4935555557 41e8d5d42aaaaaac 41b3de4355555556 417fca0555555556 41496e6aaaaaaaab 4114585555555555 40e046aaaaaaaaab
40aa0aaaaaaaaaaa 4074d55555555555 4040aaaaaaaaaaab 400aaaaaaaaaaaab 3fd5555555555555 3fa1111111111111 3f6b4e81b4e81b4f 3f35d867c3ece2a5
3f0179ec9cbd821e 3ecbf647612f3696 3e965e9f80f29212 3e61e54c672874db 3e2ca213d840baf8 3df6e80fe033c8c6 3dc2533fe68fd3d2 3d8d51ffd74c861c
3d5774ccac3d3817 3d22c3d6f030f9ac 3cee0624b3818f79 3cb804ea293472c7 3c833721ba905bd3 3c4ebe9c5db3c61e 3c18987d17c304e5 3be3ad30dfcf371d
3baf7b816618582f 3b792f9ab81379bf 3b442615600f9499 3b101e77800c76e1 3ad9ca58cce0be35 3aa4a1e0a3e6fe90 3a708180831f320d 3a3a68cd9e985016
4024000000000000 4014000000000000 3fe0000000000000 3fa999999999999a 3f747ae147ae147b 3f40624dd2f1a9fc 3f0a36e2eb1c432d 3ed4f8b588e368f1
3ea0c6f7a0b5ed8d 3e6ad7f29abcaf48 3e35798ee2308c3a 3ed539223589fa95 3ed4ff26cd5a7781 3ed4f95a762283ff 3ed4f8c60703520c 3ed4f8b72f19cd0d
3ed4f8b5b31c0c8d 3ed4f8b58d1c461a 3ed4f8b5894f7f0e 3ed4f8b588ee37f3 3ed4f8b588e47da4 3ed4f8b588e3849c 3ed4f8b588e36bb5 3ed4f8b588e36937
3ed4f8b588e368f8 3ed4f8b588e368f1 3ff0000000000000 bff0000000000000 bfeffffffffffffa bfeffffffffffffb 3feffffffffffffa 3feffffffffffffb
3feffffffffffffc 3feffffffffffffe bfefffffffffffff bfefffffffffffff 3fefffffffffffff 3fefffffffffffff 3fd3333333333332 3fd3333333333333
3fd3333333333334 0010000000000000 000ffffffffffffd 000fffffffffffff 7fefffffffffffff ffefffffffffffff 4340000000000000 c340000000000000
4430000000000000 44b52d02c7e14af5 44b52d02c7e14af6 44b52d02c7e14af7 444b1ae4d6e2ef4e 444b1ae4d6e2ef4f 444b1ae4d6e2ef50 3eb0c6f7a0b5ed8c
3eb0c6f7a0b5ed8d 41b3de4355555553 41b3de4355555554 41b3de4355555555 41b3de4355555556 41b3de4355555557 becbf647612f3696 43143ff3c1cb0959
`
  .trim()
  .split(/\s+/)
  .map((h) => BigInt('0x' + h));

function* es6Numbers(): Generator<bigint> {
  for (const b of ES6_STATIC) yield b;
  for (let i = 0n; i < 2000n; i++) yield 0x0010000000000000n + i;
  let block: Buffer = Buffer.alloc(32);
  while (true) {
    block = createHash('sha256').update(block).digest();
    for (let k = 0; k < 4; k++) {
      const bits = block.readBigUInt64LE(k * 8);
      const exp = (bits >> 52n) & 0x7ffn;
      if (exp === 0x7ffn || (bits & 0x7fffffffffffffffn) === 0n) continue; // NaN/Inf/±0 are skipped
      yield bits;
    }
  }
}

test('ES6 number test file: first 1,000,000 lines regenerated and matched against the published SHA-256', () => {
  const published: Array<[number, number, string]> = [
    [1000, 37967, 'be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687'],
    [10000, 399022, 'b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892'],
    [100000, 4031728, '22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7'],
    [1000000, 40357417, '49415fee2c56c77864931bd3624faad425c3c577d6d74e89a83bc725506dad16'],
  ];
  assert.equal(ES6_STATIC.length, 168);
  const h = createHash('sha256');
  const f64 = new Float64Array(1);
  const u64 = new BigUint64Array(f64.buffer);
  let size = 0;
  let n = 0;
  let chunk = '';
  let next = 0;
  for (const bits of es6Numbers()) {
    u64[0] = bits;
    chunk += bits.toString(16) + ',' + formatJcsNumber(f64[0]!) + '\n';
    n++;
    if (chunk.length > 1 << 16 || n === published[next]![0]) {
      size += Buffer.byteLength(chunk);
      h.update(chunk);
      chunk = '';
    }
    if (n === published[next]![0]) {
      const [lines, bytes, sha] = published[next]!;
      assert.equal(size, bytes, `size after ${lines} lines`);
      assert.equal(h.copy().digest('hex'), sha, `sha256 after ${lines} lines`);
      next++;
      if (next === published.length) break;
    }
  }
  assert.equal(next, published.length);
});

test('python profile: ELI json_c14n_v1 edge vectors (every case)', () => {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, 'eli/c14n-edge-vectors.json'), 'utf8'));
  let count = 0;
  for (const v of doc.vectors) {
    count++;
    let out: string | undefined;
    let err: unknown;
    try {
      out = canonicalizePython(parseJson(v.input_json_text, { duplicateKeys: 'last-wins' }), { ensureAscii: false });
    } catch (e) {
      err = e;
    }
    if (v.expected.ok) {
      assert.equal(err, undefined, `${v.id}: ${String(err)}`);
      assert.equal(Buffer.from(out!, 'utf8').toString('hex'), v.expected.canonical_hex, v.id);
      assert.equal(createHash('sha256').update(out!, 'utf8').digest('hex'), v.expected.sha256, v.id);
    } else {
      assert.ok(err instanceof EvidentError, `${v.id} must fail with a coded error`);
    }
  }
  assert.equal(count, doc.vectors.length);
  assert.ok(count >= 25);
});

test('python profile: ELI upstream canonicalization_vectors.json (every case)', () => {
  const vectors = JSON.parse(fs.readFileSync(path.join(VECTORS, 'eli/upstream/canonicalization_vectors.json'), 'utf8'));
  // Re-parse the file losslessly so floats keep their lexemes.
  const lossless = parseJson(fs.readFileSync(path.join(VECTORS, 'eli/upstream/canonicalization_vectors.json'))) as Array<Record<string, unknown>>;
  assert.equal(lossless.length, vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    const out = canonicalizePython(lossless[i]!.input, { ensureAscii: false });
    assert.equal(out, vectors[i].canonical_json, vectors[i].description);
    assert.equal(createHash('sha256').update(out, 'utf8').digest('hex'), vectors[i].sha256, vectors[i].description);
  }
});

test('formatPythonFloat: the fixed-notation fast path equals repr\'s digit rules on random doubles of every magnitude', () => {
  // reference: Python float_repr_style "r" from the shortest round-trip digits (toExponential), no shortcuts
  const ref = (x: number): string => {
    const ex = Math.abs(x).toExponential();
    const digits = ex.slice(0, ex.indexOf('e')).replace('.', '');
    const exp = parseInt(ex.slice(ex.indexOf('e') + 1), 10);
    let s: string;
    if (exp >= -4 && exp < 16) {
      if (exp < 0) s = '0.' + '0'.repeat(-exp - 1) + digits;
      else if (digits.length <= exp + 1) s = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
      else s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    } else s = (digits.length === 1 ? digits : digits[0] + '.' + digits.slice(1)) + `e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return (x < 0 ? '-' : '') + s;
  };
  const buf = new DataView(new ArrayBuffer(8));
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const edges = [1e-4, 0.0001, 9.999999999999999e-5, 1e16, 9999999999999998, 1e16 - 2, 0.1 + 0.2, 2 ** 53, 2 ** 53 + 2, 123456789012345680, 1e-5, 5e-324, Number.MAX_VALUE];
  for (let k = 0; k < 30000; k++) {
    let x: number;
    if (k < edges.length) x = edges[k]!;
    else if (k % 2) {
      buf.setUint32(0, rnd() * 2 + (rnd() & 1));
      buf.setUint32(4, rnd() * 2 + (rnd() & 1));
      x = buf.getFloat64(0);
      if (!Number.isFinite(x) || x === 0) continue;
    } else x = (rnd() / 2147483648) * 10 ** ((rnd() % 44) - 22);
    for (const v of [x, -x]) assert.equal(formatPythonFloat(v), ref(v), String(v));
  }
});

test('python profile: float repr, ensure_ascii, indent, code-point key order', () => {
  const cases: Array<[number, string]> = [
    [1, '1.0'], [1e-7, '1e-07'], [1e16, '1e+16'], [1e15, '1000000000000000.0'], [-0, '-0.0'], [0.1, '0.1'],
    [123.456, '123.456'], [1e22, '1e+22'], [5e-324, '5e-324'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e300, '1.5e+300'],
  ];
  for (const [x, s] of cases) assert.equal(formatPythonFloat(x), s, String(x));
  assert.throws(() => formatPythonFloat(NaN), /NaN/);
  assert.equal(canonicalizePython({ s: 'é\u2028😀\x7f' }, { ensureAscii: true }), '{"s":"\\u00e9\\u2028\\ud83d\\ude00\\u007f"}');
  assert.equal(canonicalizePython({ b: [1, { a: null }], a: {} }, { indent: 2 }), '{\n  "a": {},\n  "b": [\n    1,\n    {\n      "a": null\n    }\n  ]\n}');
  assert.equal(canonicalizePython({ '\uff61': 1, '😀': 2 }), '{"｡":1,"😀":2}');
  assert.equal(canonicalizeJcs({ '\uff61': 1, '😀': 2 }), '{"😀":2,"｡":1}');
  assert.equal(stableFile({ b: 1, a: 2 }), '{"a":2,"b":1}\n');
  assert.equal(stableJsonl([{ b: 1 }, [2]]), '{"b":1}\n[2]\n');
  for (const bad of [undefined, () => 1, Symbol('x'), 1n, new Date(0), NaN, Infinity]) {
    assert.throws(() => canonicalizeJcs({ a: bad }), (e: unknown) => e instanceof EvidentError && e.code === 'JSON_NOT_CANONICALIZABLE');
  }
});

/** Strict hex / base64 parsing: exact alphabet, padding, length, canonical trailing bits. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseBase64, parseHex, toBase64, toBase64Url, type Base64Options } from '../src/kernel/encoding.ts';

test('parseBase64 accepts exactly the canonical forms', () => {
  const cases: Array<[string, Base64Options, boolean]> = [
    ['', {}, true], ['AA==', {}, true], ['AA=', {}, false], ['AA', {}, false], ['AA', { padding: 'optional' }, true],
    ['AB==', {}, false], // non-zero trailing bits
    ['A===', {}, false], ['AAAA', {}, true], ['AA AA', {}, false], ['AAAA\n', {}, false], ['-_8=', {}, false],
    ['-_8', { alphabet: 'url' }, true], ['-_8=', { alphabet: 'url' }, false], ['-_8=', { alphabet: 'url', padding: 'optional' }, true],
    ['+/8=', { alphabet: 'url', padding: 'optional' }, false], ['A', { padding: 'optional' }, false], ['QUJD', { length: 3 }, true],
    ['QUJD', { length: 2 }, false], ['QQ==QQ==', {}, false], ['=', {}, false], ['====', {}, false], ['QUJD', { padding: 'forbidden' }, true],
    ['QQ==', { padding: 'forbidden' }, false],
  ];
  for (const [s, o, ok] of cases) {
    if (ok) assert.doesNotThrow(() => parseBase64(s, o), `${JSON.stringify(s)} ${JSON.stringify(o)}`);
    else assert.throws(() => parseBase64(s, o), { code: 'BASE64_INVALID' }, `${JSON.stringify(s)} ${JSON.stringify(o)}`);
  }
  assert.throws(() => parseBase64('AB==', {}), /trailing bits/);
  assert.throws(() => parseBase64(42 as unknown as string), { code: 'BASE64_INVALID' });
});

test('parseBase64 round-trips random bytes of every length 0..300 in both alphabets', () => {
  for (let n = 0; n <= 300; n++) {
    const b = randomBytes(n);
    assert.deepEqual(Buffer.from(parseBase64(toBase64(b))), b);
    assert.deepEqual(Buffer.from(parseBase64(toBase64Url(b), { alphabet: 'url' })), b);
  }
});

test('parseHex is exact', () => {
  assert.deepEqual([...parseHex('00ff')], [0, 255]);
  for (const bad of ['0', '0g', 'FF', '00 ff', '00\n']) assert.throws(() => parseHex(bad), { code: 'HEX_INVALID' });
  assert.deepEqual([...parseHex('FF', { case: 'any' })], [255]);
  assert.throws(() => parseHex('00', { length: 2 }), { code: 'HEX_INVALID' });
});

test('parseBase64 agrees with a regex + re-encoding reference on random near-base64 strings', () => {
  const ref = (s: string, o: Base64Options): boolean => {
    const url = o.alphabet === 'url';
    const padding = o.padding ?? (url ? 'forbidden' : 'required');
    const a = url ? 'A-Za-z0-9_-' : 'A-Za-z0-9+/';
    if (!new RegExp(`^[${a}]*={0,2}$`).test(s)) return false;
    const body = s.replace(/=+$/, '');
    const padded = body + '='.repeat((4 - (body.length % 4)) % 4);
    if (body.length % 4 === 1) return false;
    if (s !== body && (padding === 'forbidden' || s !== padded)) return false;
    if (s === body && padding === 'required' && body !== padded) return false;
    const canon = Buffer.from(body, url ? 'base64url' : 'base64').toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
    return canon === body;
  };
  const chars = 'AQgw/+_-=z9 é';
  let seed = 11;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const opts: Base64Options[] = [{}, { padding: 'optional' }, { padding: 'forbidden' }, { alphabet: 'url' }, { alphabet: 'url', padding: 'required' }, { alphabet: 'url', padding: 'optional' }];
  for (let k = 0; k < 20000; k++) {
    let s = '';
    for (let j = rnd(9); j > 0; j--) s += chars[rnd(chars.length)];
    const o = opts[k % opts.length]!;
    let ok = true;
    try {
      parseBase64(s, o);
    } catch {
      ok = false;
    }
    assert.equal(ok, ref(s, o), `${JSON.stringify(s)} ${JSON.stringify(o)}`);
  }
});

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

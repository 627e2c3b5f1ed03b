/** Unit tests: the fault classifier (store/faults.ts) and the exact-number check (kernel/exact-numbers.ts). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { classifyFault, withDeadline } from '../src/store/faults.ts';
import { EvidentError } from '../src/kernel/errors.ts';
import { isExactNumber, inexactNumbers, assertExactNumbers } from '../src/kernel/exact-numbers.ts';
import { parseJson } from '../src/kernel/json/index.ts';

const err = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {});

test('classifyFault: database, storage and full-disk faults; anything else is not a fault', () => {
  const cases: Array<[unknown, string | undefined, number | undefined]> = [
    [err('ECONNREFUSED'), 'DB_UNAVAILABLE', 503],
    [err(undefined, 'Connection terminated unexpectedly'), 'DB_UNAVAILABLE', 503],
    [err(undefined, 'timeout exceeded when trying to connect'), 'DB_UNAVAILABLE', 503],
    [err(undefined, 'Query read timeout'), 'DB_UNAVAILABLE', 503],
    [err('57P01', 'terminating connection due to administrator command'), 'DB_UNAVAILABLE', 503],
    [err('08006'), 'DB_UNAVAILABLE', 503],
    [err('SQLITE_BUSY'), 'DB_UNAVAILABLE', 503],
    [err('LOG_TIMEOUT'), 'DB_UNAVAILABLE', 503],
    [err('SQLITE_FULL', 'database or disk is full'), 'STORAGE_FULL', 507],
    [err('ENOSPC'), 'STORAGE_FULL', 507],
    [err('SQLITE_READONLY', 'attempt to write a readonly database'), 'STORAGE_UNAVAILABLE', 503],
    [err('SQLITE_IOERR_WRITE'), 'STORAGE_UNAVAILABLE', 503],
    [err('EROFS'), 'STORAGE_UNAVAILABLE', 503],
    [new EvidentError('IO_ERROR', 'wrapped', { cause: err('SQLITE_FULL') }), 'STORAGE_FULL', 507],
    [new EvidentError('IO_ERROR', 'cannot connect', { cause: err('ECONNREFUSED') }), 'DB_UNAVAILABLE', 503],
    [err('INPUT_INVALID'), undefined, undefined],
    [err('23505', 'duplicate key'), undefined, undefined],
    [new TypeError('x is not a function'), undefined, undefined],
    [undefined, undefined, undefined],
  ];
  for (const [e, code, status] of cases) {
    const f = classifyFault(e);
    assert.equal(f?.code, code, String((e as Error)?.message ?? e));
    assert.equal(f?.status, status);
    if (f) assert.ok(f.retryAfter > 0);
  }
});

test('withDeadline: rejects with DB_UNAVAILABLE after the deadline, passes a prompt answer through', async () => {
  assert.equal(await withDeadline(Promise.resolve(5), 100, 'x'), 5);
  const t0 = Date.now();
  await assert.rejects(withDeadline(new Promise(() => {}), 50, 'hung'), (e: Error & { code?: string }) => e.code === 'DB_UNAVAILABLE' && classifyFault(e)?.code === 'DB_UNAVAILABLE');
  assert.ok(Date.now() - t0 < 1000);
});

test('exact numbers: a value a double carries exactly passes, whatever its spelling; others are found', () => {
  for (const ok of ['0', '-0', '1', '1.0', '1.50', '1E2', '1e+21', '0.1', '0.30000000000000004', '9007199254740992', '-9007199254740992', '5e-324', '1.7976931348623157e308', '123456789012']) {
    assert.equal(isExactNumber(ok), true, ok);
  }
  for (const bad of ['9007199254740993', '1e-400', '1e400', '-1e400', '0.1000000000000000000001', '123456789012345678901234567890', '1.00000000000000001', '2.5e-324']) {
    assert.equal(isExactNumber(bad), false, bad);
  }
  const tree = parseJson('{"a":[1,2.0,{"b":9007199254740993}],"c":"9007199254740993","weird key":1e-400}', { numbers: 'lossless' });
  assert.deepEqual(inexactNumbers(tree).map((x) => x.path), ['$.a[2].b', '$["weird key"]']);
  assert.throws(() => assertExactNumbers(tree), { code: 'JSON_NUMBER_INEXACT' });
  assertExactNumbers(parseJson('{"n":[1.0,2,0.5]}', { numbers: 'lossless' }));
});

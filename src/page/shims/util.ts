/**
 * `util` for the verifier page: isDeepStrictEqual, the one function @sigstore/verify takes from it (comparing
 * parsed protobuf messages: plain objects, arrays, strings, numbers, booleans, Buffers/Uint8Arrays, Dates).
 */
export function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Uint8Array) {
    const u = b as Uint8Array;
    if (a.length !== u.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== u[i]) return false;
    return true;
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((v, i) => isDeepStrictEqual(v, y[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
export default { isDeepStrictEqual };

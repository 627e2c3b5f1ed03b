/**
 * Shared by the mutation fuzz tests: a seeded xorshift PRNG and a byte mutator (bit flip, truncation, a duplicated
 * run, byte overwrite, or a JSON token replaced by junk). Deterministic for a seed, so a failure reproduces.
 */

/** A JSON token: string, number or literal. */
export const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null/g;

/** xorshift32: `rand(n)` is an integer in [0, n). */
export function xorshift(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** A mutator drawing from `rand`; token replacements take one of `junk`. Never modifies its input. */
export function mutator(rand: (n: number) => number, junk: readonly string[]): (b: Buffer) => Buffer {
  return (b) => {
    const c = Buffer.from(b);
    switch (rand(7)) {
      case 0:
        if (c.length) c[rand(c.length)]! ^= 1 << rand(8);
        return c;
      case 1:
        return c.subarray(0, rand(c.length + 1));
      case 2: {
        const i = rand(c.length + 1);
        return Buffer.concat([c.subarray(0, i), c.subarray(i, i + rand(64)), c.subarray(i)]);
      }
      case 3:
        if (c.length) c[rand(c.length)] = rand(256);
        return c;
      default: {
        const s = c.toString('latin1');
        const toks = [...s.matchAll(JSON_TOKEN)];
        if (toks.length === 0) return c;
        const t = toks[rand(toks.length)]!;
        return Buffer.from(s.slice(0, t.index) + junk[rand(junk.length)] + s.slice(t.index! + t[0].length), 'latin1');
      }
    }
  };
}

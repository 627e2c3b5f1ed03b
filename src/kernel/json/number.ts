/**
 * A JSON number kept as its exact source lexeme. Whether it is an integer or a float is decided by the token's
 * shape (a `.`, `e` or `E` makes a float), as Python's `json.loads` does; integers of any size stay exact.
 */
export class JsonNumber {
  readonly lexeme: string;
  constructor(lexeme: string) {
    this.lexeme = lexeme;
  }
  /** True when the token has no fraction or exponent (Python would load it as `int`). */
  get isInteger(): boolean {
    return !/[.eE]/.test(this.lexeme);
  }
  /** IEEE-754 double value (JSON.parse semantics). */
  toNumber(): number {
    return Number(this.lexeme);
  }
  /** Exact integer value; throws RangeError for a float token. */
  toBigInt(): bigint {
    if (!this.isInteger) throw new RangeError(`not an integer token: ${this.lexeme}`);
    return BigInt(this.lexeme);
  }
  valueOf(): number {
    return this.toNumber();
  }
  toString(): string {
    return this.lexeme;
  }
  toJSON(): number {
    return this.toNumber();
  }
}

export type JsonValue = null | boolean | string | number | bigint | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/** Set a property even when the key is `__proto__`, without touching the object's prototype. */
export function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Convert lossless numbers to plain JS numbers (JSON.parse semantics), recursively. Other values unchanged. */
export function toPlain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return v.toNumber();
  if (Array.isArray(v)) return v.map(toPlain);
  if (isJsonObject(v)) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) setOwn(o, k, toPlain(v[k]!) as JsonValue);
    return o;
  }
  return v;
}

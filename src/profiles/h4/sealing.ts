/**
 * Engine sealing (specs/hashmatch-h4.md §B.2, fixed): a sealed engine is a module file whose fingerprint is the
 * real SHA-256 of its bytes — never a value the module reports about itself.
 *
 * Pins (either name set): EVIDENT_ENGINE_ID / HARMONY4_ENGINE_ID, EVIDENT_ENGINE_FP / HARMONY4_ENGINE_FP (64 hex),
 * module path EVIDENT_ENGINE_PATH / HARMONY4_CORE_PATH. When any of them is set, `loadSealedEngine()` either
 * returns the pinned engine or throws a coded EvidentError — no fallback to the reference engine:
 *   H4_ENGINE_PIN_CONFLICT   EVIDENT_* and HARMONY4_* disagree
 *   H4_ENGINE_PIN_MISSING    path without both pins, or only one of id/fp
 *   H4_ENGINE_PIN_INVALID    fingerprint pin is not 64 hex
 *   H4_ENGINE_MISSING        pins set but no module path, or the module file is missing/unreadable
 *   H4_ENGINE_FP_MISMATCH    SHA-256 of the module file ≠ pinned fingerprint
 *   H4_ENGINE_LOAD_FAILED    the module does not load or lacks the engine interface
 *   H4_ENGINE_ID_MISMATCH    the module's id ≠ pinned id
 * Without any pin it returns the open reference engine with `sealed: false`.
 *
 * Module interface (ES module, JavaScript, self-contained): `export const id: string`,
 * `export function compress(Uint8Array): Uint8Array`, `export function decompress(Uint8Array): Uint8Array`.
 * The module is imported from the exact bytes that were hashed (a data: URL), so the fingerprint checked is the
 * code that runs (no time-of-check/time-of-use gap). WASM/native modules are refused (H4_ENGINE_LOAD_FAILED).
 *
 * The service calls `loadSealedEngine()` before it starts listening (refuse to start).
 */
import fs from 'node:fs';
import { EvidentError } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/digest.ts';
import { referenceEngine, MAX_BLOCK_BYTES, type Engine, type EngineInfo } from './engines.ts';

export const MAX_ENGINE_MODULE_BYTES = 32 * 1024 * 1024;

export interface EnginePins {
  id?: string;
  fingerprint?: string;
  path?: string;
}

export interface SealedEngineStatus {
  engine: Engine;
  sealed: boolean;
  /** Which environment variables supplied the pins (for `engine info`). */
  source: 'none' | 'env';
  path?: string;
}

type Env = Record<string, string | undefined>;

function pick(env: Env, a: string, b: string, what: string): string | undefined {
  const x = env[a] || undefined;
  const y = env[b] || undefined;
  if (x !== undefined && y !== undefined && x !== y) {
    throw new EvidentError('H4_ENGINE_PIN_CONFLICT', `${a} and ${b} disagree about the engine ${what}`);
  }
  return x ?? y;
}

/** Read the pins from the environment (EVIDENT_* preferred, HARMONY4_* accepted; conflicting values refused). */
export function pinsFromEnv(env: Env = process.env): EnginePins {
  return {
    id: pick(env, 'EVIDENT_ENGINE_ID', 'HARMONY4_ENGINE_ID', 'id'),
    fingerprint: pick(env, 'EVIDENT_ENGINE_FP', 'HARMONY4_ENGINE_FP', 'fingerprint'),
    path: pick(env, 'EVIDENT_ENGINE_PATH', 'HARMONY4_CORE_PATH', 'module path'),
  };
}

/** SHA-256 (lowercase hex) of a module file's bytes: the engine fingerprint. */
export function moduleFingerprint(path: string): string {
  return sha256Hex(readModule(path));
}

function readModule(path: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new EvidentError('H4_ENGINE_MISSING', `engine module ${path} not found (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  if (!st.isFile()) throw new EvidentError('H4_ENGINE_MISSING', `engine module ${path} is not a file`);
  if (st.size > MAX_ENGINE_MODULE_BYTES) throw new EvidentError('H4_ENGINE_LOAD_FAILED', `engine module ${path} is larger than ${MAX_ENGINE_MODULE_BYTES} bytes`);
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw new EvidentError('H4_ENGINE_MISSING', `cannot read engine module ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
}

function asBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new EvidentError('H4_ENGINE_FAILED', `sealed engine ${what} did not return bytes`);
  return v;
}

/**
 * Resolve the engine this process must use. Throws a coded EvidentError when pins are set and anything is off.
 * Call before serving anything.
 */
export async function loadSealedEngine(env: Env = process.env): Promise<SealedEngineStatus> {
  const pins = pinsFromEnv(env);
  if (pins.id === undefined && pins.fingerprint === undefined && pins.path === undefined) {
    return { engine: referenceEngine(), sealed: false, source: 'none' };
  }
  if (pins.id === undefined || pins.fingerprint === undefined) {
    throw new EvidentError('H4_ENGINE_PIN_MISSING', 'a sealed engine needs both EVIDENT_ENGINE_ID and EVIDENT_ENGINE_FP (or the HARMONY4_* names)');
  }
  const fpPin = pins.fingerprint.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(fpPin)) throw new EvidentError('H4_ENGINE_PIN_INVALID', 'engine fingerprint pin must be 64 hex characters (SHA-256 of the module file)');
  if (pins.path === undefined) throw new EvidentError('H4_ENGINE_MISSING', 'engine pins are set but no module path (EVIDENT_ENGINE_PATH or HARMONY4_CORE_PATH)');
  const bytes = readModule(pins.path);
  const fp = sha256Hex(bytes);
  if (fp !== fpPin) {
    throw new EvidentError('H4_ENGINE_FP_MISMATCH', `engine module ${pins.path} has SHA-256 ${fp}, pinned ${fpPin}`);
  }
  if (!/\.(m?js)$/i.test(pins.path)) {
    throw new EvidentError('H4_ENGINE_LOAD_FAILED', `engine module ${pins.path}: only JavaScript ES modules (.js/.mjs) can be loaded`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import('data:text/javascript;base64,' + bytes.toString('base64'))) as Record<string, unknown>;
  } catch (e) {
    throw new EvidentError('H4_ENGINE_LOAD_FAILED', `engine module ${pins.path} failed to load: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  const { id, compress, decompress } = mod;
  if (typeof id !== 'string' || typeof compress !== 'function' || typeof decompress !== 'function') {
    throw new EvidentError('H4_ENGINE_LOAD_FAILED', `engine module ${pins.path} must export id (string), compress and decompress (functions)`);
  }
  if (id !== pins.id) throw new EvidentError('H4_ENGINE_ID_MISMATCH', `engine module id ${JSON.stringify(id)} ≠ pinned ${JSON.stringify(pins.id)}`);
  const info: EngineInfo = { engine: 'core', engine_id: id, fingerprint: fp, deterministic: true, identity_safe: true, opaque: true, sealed: true };
  const c = compress as (b: Uint8Array) => unknown;
  const d = decompress as (b: Uint8Array) => unknown;
  const engine: Engine = {
    name: id,
    info: () => ({ ...info }),
    compress: (b) => asBytes(c(b), 'compress'),
    decompress: (b) => {
      let out: Uint8Array;
      try {
        out = asBytes(d(b), 'decompress');
      } catch (e) {
        throw new EvidentError('H4_DECOMPRESS_FAILED', `sealed engine ${id}: ${(e as Error)?.message ?? String(e)}`);
      }
      if (out.length > MAX_BLOCK_BYTES) throw new EvidentError('H4_DECOMPRESS_FAILED', `sealed engine ${id}: output exceeds ${MAX_BLOCK_BYTES} bytes`);
      return out;
    },
  };
  return { engine, sealed: true, source: 'env', path: pins.path };
}

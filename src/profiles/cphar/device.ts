/**
 * Software seal: answers CPHAR challenges with a private key held in process memory. A non-exportable hardware key
 * is future work behind the same {@link SealDevice} interface.
 *
 * Transports: newline-delimited JSON on streams (one challenge per line → one attestation per line, or
 * `{"error":{"code","message"}}`), and optional HTTP on 127.0.0.1 (`POST /challenge` with the challenge JSON).
 */
import http from 'node:http';
import readline from 'node:readline';
import type { KeyObject } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { EvidentError } from '../../kernel/errors.ts';
import { isMeasurement, MAX_MESSAGE_BYTES, parseChallenge, sealAlgOfKey, signAttestation, type SealAttestation } from './messages.ts';

export interface SealDevice {
  readonly sealId?: string;
  respond(challenge: unknown): SealAttestation;
}

export class SoftwareSeal implements SealDevice {
  constructor(
    private key: KeyObject,
    private firmware: string,
    readonly sealId?: string,
    /** Tamper check hook: return false to refuse to attest (a broken seal never signs). */
    private tamperCheck: () => boolean = () => true,
  ) {
    if (key.type !== 'private') throw new EvidentError('KEY_INVALID', 'a seal needs a private key');
    sealAlgOfKey(key);
    if (!isMeasurement(firmware)) throw new EvidentError('INPUT_INVALID', 'firmware measurement must be sha256:<64 lowercase hex>');
  }

  respond(challenge: unknown): SealAttestation {
    const c = parseChallenge(challenge);
    if (this.sealId && c.seal_id !== this.sealId) throw new EvidentError('SEAL_ID_MISMATCH', `this seal is ${this.sealId}, challenge is for ${c.seal_id}`);
    if (!this.tamperCheck()) throw new EvidentError('SEAL_TAMPERED', 'tamper check failed; refusing to attest');
    return signAttestation(c, this.key, this.firmware);
  }
}

function answer(dev: SealDevice, text: string): string {
  try {
    return JSON.stringify(dev.respond(text));
  } catch (e) {
    return JSON.stringify({ error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message } });
  }
}

/** Serve newline-delimited challenges from `input` until EOF. Resolves with the number of lines answered. */
export async function serveStream(dev: SealDevice, input: Readable, output: Writable): Promise<number> {
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    if (!line.trim()) continue;
    output.write((line.length > MAX_MESSAGE_BYTES ? JSON.stringify({ error: { code: 'INPUT_INVALID', message: 'line too long' } }) : answer(dev, line)) + '\n');
    n++;
  }
  return n;
}

/** HTTP transport bound to 127.0.0.1. `POST /challenge` → attestation JSON (200) or error JSON (400). */
export function serveHttp(dev: SealDevice, port = 0, host = '127.0.0.1'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/challenge') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"POST /challenge"}}');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_MESSAGE_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json' }).end('{"error":{"code":"INPUT_INVALID","message":"too large"}}');
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const out = answer(dev, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(out.startsWith('{"error"') ? 400 : 200, { 'content-type': 'application/json' }).end(out + '\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

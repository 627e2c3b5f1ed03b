/**
 * `evident seal …`: CPHAR seal registry (register|inspect|state|revoke|status|snapshot), challenge-response
 * (challenge|respond|verify) and a software seal device. Profile: docs/cphar.md.
 */
import { Command, Option } from 'commander';
import { action, emitReport, readInput, timeFlag, writeFileAtomic } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { loadPrivateKey, loadPublicKey } from '../../store/keyfiles.ts';
import { Report } from '../../verify/report.ts';
import { DEFAULT_DOMAIN, makeChallenge, MAX_MESSAGE_BYTES } from '../../profiles/cphar/messages.ts';
import { parseState, SEAL_STATES, type SealState } from '../../profiles/cphar/registry.ts';
import { DEFAULT_NONCE_TTL_MS } from '../../profiles/cphar/nonces.ts';
import { DEFAULT_WINDOWS } from '../../profiles/cphar/verify.ts';
import { openStores, verifyWithDb, type CpharStores } from '../../profiles/cphar/stores.ts';
import { SoftwareSeal, serveHttp, serveStream } from '../../profiles/cphar/device.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const DB_HELP = 'database URL: sqlite:PATH or postgres://… (registry + nonce tables prefixed cphar_)';
/** Registry refusals are policy failures (exit 1), not input errors. */
const POLICY_CODES = new Set(['LOT_ALREADY_BOUND', 'TRANSITION_INVALID', 'TRANSITION_CONFLICT', 'SEAL_EXISTS', 'SEAL_UNKNOWN', 'SEAL_ID_MISMATCH']);

function out(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human + '\n');
}

async function withStores<T>(url: string, fn: (s: CpharStores) => Promise<T>): Promise<T> {
  const s = await openStores(url);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Like action(), but registry refusals become a one-check policy report (exit 1). */
function registryAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return action(async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const code = (e as { code?: string })?.code;
      if (!code || !POLICY_CODES.has(code)) throw e;
      const cmd = args[args.length - 1] as Command;
      emitReport(new Report('cphar.registry', 'strict').fail('registry', 'policy', code, (e as Error).message), cmd.opts());
    }
  });
}

function seconds(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new EvidentError('INPUT_INVALID', `${flag} must be a number of seconds`);
  return Math.round(Number(v) * 1000);
}

function readMessage(file: string): Buffer {
  const b = readInput(file);
  if (b.length > MAX_MESSAGE_BYTES) throw new EvidentError('MESSAGE_INVALID', `${file}: larger than ${MAX_MESSAGE_BYTES} bytes (docs/cphar.md §1)`);
  return b;
}

function writeOrPrint(file: string | undefined, obj: unknown): void {
  const text = JSON.stringify(obj) + '\n';
  if (file) writeFileAtomic(file, text);
  else process.stdout.write(text);
}

export function register(program: Command): void {
  const seal = program
    .command('seal')
    .description('CPHAR seal attestation: registry, challenges, responses, verification and a software seal.')
    .addHelpText(
      'after',
      '\nFlow: seal register → seal inspect → seal state --to Sealed → seal challenge → seal respond (or seal device) → seal verify.\n' +
        `Lifecycle: ${SEAL_STATES.join(', ')} (Manufactured → Registered → Inspected → Sealed ⇄ Attested → Broken | Retired; Revoked from any live state).\n` +
        'Profile (canonical form, hashes, signatures, reason codes, exit codes): docs/cphar.md.',
    );

  seal
    .command('register')
    .description('Register a seal: id, public key (Ed25519 or ES256), registered firmware measurements, optional lot binding.')
    .requiredOption('--db <url>', DB_HELP)
    .requiredOption('--seal <id>', 'seal id, e.g. seal_01HZX3K9Q7M2V4N6P8R0T2A4C6')
    .requiredOption('--key <file>', 'seal public key (PEM or JWK; a private key file is reduced to its public half)')
    .requiredOption('--firmware <digest>', 'registered firmware measurement sha256:<hex>; repeatable', collect)
    .option('--lot <id>', 'lot commitment this seal is bound to (at most one live seal per lot)')
    .addOption(new Option('--state <state>', 'initial state').choices(['Manufactured', 'Registered']).default('Registered'))
    .option('--json', 'print the seal record as one JSON object')
    .action(
      registryAction(async (o: { db: string; seal: string; key: string; firmware: string[]; lot?: string; state: 'Manufactured' | 'Registered'; json?: boolean }) => {
        const key = loadPublicKey(o.key);
        const rec = await withStores(o.db, (s) => s.registry.register({ sealId: o.seal, publicKey: key, firmware: o.firmware, lot: o.lot, state: o.state }));
        out(o, `registered ${rec.seal_id} (${rec.alg}) state ${rec.state}${rec.lot ? ` lot ${rec.lot}` : ''}`, rec);
      }),
    );

  seal
    .command('inspect')
    .description('Record a passed inspection: Registered → Inspected (with --sealed, continue to Sealed).')
    .requiredOption('--db <url>', DB_HELP)
    .requiredOption('--seal <id>', 'seal id')
    .option('--note <text>', 'inspection note stored in the event')
    .option('--sealed', 'also apply the seal (Inspected → Sealed)')
    .option('--json', 'print the seal record as one JSON object')
    .action(
      registryAction(async (o: { db: string; seal: string; note?: string; sealed?: boolean; json?: boolean }) => {
        const rec = await withStores(o.db, async (s) => {
          let r = await s.registry.transition(o.seal, 'Inspected', o.note ? { note: o.note } : {}, 'inspect');
          if (o.sealed) r = await s.registry.transition(o.seal, 'Sealed', {}, 'seal');
          return r;
        });
        out(o, `${rec.seal_id}: ${rec.state}`, rec);
      }),
    );

  seal
    .command('state')
    .description('Move a seal to another lifecycle state (only allowed transitions; appends an event).')
    .requiredOption('--db <url>', DB_HELP)
    .requiredOption('--seal <id>', 'seal id')
    .requiredOption('--to <state>', `target state (${SEAL_STATES.join(', ')})`)
    .option('--note <text>', 'note stored in the event')
    .option('--json', 'print the seal record as one JSON object')
    .action(
      registryAction(async (o: { db: string; seal: string; to: string; note?: string; json?: boolean }) => {
        const to: SealState = parseState(o.to);
        const rec = await withStores(o.db, (s) => s.registry.transition(o.seal, to, o.note ? { note: o.note } : {}));
        out(o, `${rec.seal_id}: ${rec.state}`, rec);
      }),
    );

  seal
    .command('revoke')
    .description('Revoke a seal (terminal; its attestations fail with SEAL_REVOKED, exit 4).')
    .requiredOption('--db <url>', DB_HELP)
    .requiredOption('--seal <id>', 'seal id')
    .requiredOption('--reason <text>', 'revocation reason stored in the event')
    .option('--json', 'print the seal record as one JSON object')
    .action(
      registryAction(async (o: { db: string; seal: string; reason: string; json?: boolean }) => {
        const rec = await withStores(o.db, (s) => s.registry.revoke(o.seal, o.reason));
        out(o, `${rec.seal_id}: ${rec.state}`, rec);
      }),
    );

  seal
    .command('status')
    .description('Show a seal record and its append-only event history (exit 1 with SEAL_UNKNOWN if absent).')
    .requiredOption('--db <url>', DB_HELP)
    .requiredOption('--seal <id>', 'seal id')
    .option('--json', 'print {seal, events} as one JSON object')
    .action(
      registryAction(async (o: { db: string; seal: string; json?: boolean }) => {
        const r = await withStores(o.db, async (s) => ({ seal: await s.registry.get(o.seal), events: await s.registry.events(o.seal) }));
        if (!r.seal) throw new EvidentError('SEAL_UNKNOWN', `seal ${o.seal} is not registered`);
        const human = [
          `${r.seal.seal_id}  ${r.seal.state}  ${r.seal.alg}${r.seal.lot ? `  lot ${r.seal.lot}` : ''}`,
          `firmware: ${r.seal.firmware_measurements.join(', ')}`,
          ...r.events.map((e) => `  #${e.seq} ${e.at} ${e.event}: ${e.from ?? '-'} → ${e.to}`),
        ].join('\n');
        out(o, human, r);
      }),
    );

  seal
    .command('snapshot')
    .description('Write a content-addressed registry snapshot (JCS; id = sha256 of the bytes). Prints the digest.')
    .requiredOption('--db <url>', DB_HELP)
    .option('--out <file>', 'also write the canonical snapshot bytes to FILE (atomically)')
    .option('--json', 'print {digest, snapshot} as one JSON object')
    .action(
      action(async (o: { db: string; out?: string; json?: boolean }) => {
        const r = await withStores(o.db, (s) => s.registry.snapshot());
        if (o.out) writeFileAtomic(o.out, r.body);
        out(o, r.digest, { digest: r.digest, snapshot: JSON.parse(r.body) });
      }),
    );

  seal
    .command('challenge')
    .description('Create a fresh challenge (32-byte CSPRNG nonce). With --db the nonce is recorded as issued (single use, TTL).')
    .requiredOption('--seal <id>', 'seal id to challenge')
    .option('--db <url>', DB_HELP)
    .option('--domain <domain>', 'domain separation context', DEFAULT_DOMAIN)
    .option('--ttl <seconds>', `nonce lifetime in the store (default ${DEFAULT_NONCE_TTL_MS / 1000})`)
    .option('--now <time>', 'challenge time (RFC 3339), default now')
    .option('--out <file>', 'write the challenge to FILE instead of stdout')
    .action(
      action(async (o: { seal: string; db?: string; domain: string; ttl?: string; now?: string; out?: string }) => {
        const now = timeFlag(o.now, '--now') ?? Date.now();
        const c = makeChallenge(o.seal, { now, domain: o.domain });
        if (o.db) {
          const ttl = seconds(o.ttl, '--ttl', DEFAULT_NONCE_TTL_MS);
          await withStores(o.db, (s) => s.nonces.issue(c.nonce, c.seal_id, now, now + ttl));
        }
        writeOrPrint(o.out, c);
      }),
    );

  seal
    .command('respond')
    .description('Answer a challenge as a software seal: sign JCS(attestation minus signature) with the seal private key.')
    .requiredOption('--key <file>', 'seal private key (Ed25519 or ES256 PEM/JWK)')
    .requiredOption('--firmware <digest>', 'firmware measurement to report (sha256:<hex>)')
    .argument('[challenge]', 'challenge JSON file (default stdin)')
    .option('--out <file>', 'write the attestation to FILE instead of stdout')
    .action(
      action(async (challenge: string | undefined, o: { key: string; firmware: string; out?: string }) => {
        const dev = new SoftwareSeal(loadPrivateKey(o.key), o.firmware);
        writeOrPrint(o.out, dev.respond(readMessage(challenge ?? '-')));
      }),
    );

  seal
    .command('verify')
    .summary('Verify an attestation against its challenge, the registry and the nonce store')
    .description(
      'Verify an attestation: registry status (active = Sealed|Attested), seal id, domain, challenge_hash, signature,\n' +
        'registered firmware, freshness and single use of the nonce (consumed atomically in the DB).\n' +
        'Reason codes: SEAL_UNKNOWN, SEAL_REVOKED, SEAL_BROKEN, SEAL_RETIRED, SEAL_NOT_ACTIVE (exit 4); SEAL_ID_MISMATCH,\n' +
        'CHALLENGE_HASH_MISMATCH (2); SIGNATURE_INVALID (3); DOMAIN_MISMATCH, FIRMWARE_MISMATCH, TIMESTAMP_IN_FUTURE, STALE,\n' +
        'RESPONSE_TOO_SLOW, NONCE_UNKNOWN, NONCE_EXPIRED, REPLAY (1); MESSAGE_INVALID (10).',
    )
    .requiredOption('--db <url>', DB_HELP)
    .argument('<challenge>', 'challenge JSON file')
    .argument('<attestation>', 'attestation JSON file')
    .option('--now <time>', 'verification time (RFC 3339), default now')
    .option('--received-at <time>', 'when the response was received (RFC 3339), default --now')
    .option('--issued-at <time>', 'when the challenge was issued, default the nonce store record or challenge.timestamp')
    .option('--domain <domain>', 'expected domain', DEFAULT_DOMAIN)
    .option('--max-age <seconds>', `max challenge timestamp age (default ${DEFAULT_WINDOWS.maxTimestampAgeMs / 1000})`)
    .option('--max-response <seconds>', `max challenge → response time (default ${DEFAULT_WINDOWS.maxResponseMs / 1000})`)
    .option('--skew <seconds>', `clock skew allowed for future timestamps (default ${DEFAULT_WINDOWS.clockSkewMs / 1000})`)
    .option('--require-issued', 'reject nonces not issued by `seal challenge --db` on this database (NONCE_UNKNOWN)')
    .option('--json', 'print exactly one JSON report object on stdout')
    .action(
      action(async (challenge: string, attestation: string, o: Record<string, any>) => {
        let c: Buffer;
        let a: Buffer;
        try {
          c = readMessage(challenge);
          a = readMessage(attestation);
        } catch (e) {
          // an oversize message breaks a message rule: the one report, MESSAGE_INVALID (exit 10)
          if ((e as { code?: string }).code !== 'MESSAGE_INVALID') throw e;
          emitReport(new Report('cphar.attestation', 'strict').fail('messages', 'input', 'MESSAGE_INVALID', (e as Error).message), o);
          return;
        }
        const now = timeFlag(o.now, '--now');
        const report = await verifyWithDb(o.db, c, a, {
          now,
          receivedAt: timeFlag(o.receivedAt, '--received-at'),
          issuedAt: timeFlag(o.issuedAt, '--issued-at'),
          expectedDomain: o.domain,
          requireIssuedNonce: Boolean(o.requireIssued),
          windows: {
            maxTimestampAgeMs: seconds(o.maxAge, '--max-age', DEFAULT_WINDOWS.maxTimestampAgeMs),
            maxResponseMs: seconds(o.maxResponse, '--max-response', DEFAULT_WINDOWS.maxResponseMs),
            clockSkewMs: seconds(o.skew, '--skew', DEFAULT_WINDOWS.clockSkewMs),
          },
        });
        emitReport(report, o);
      }),
    );

  seal
    .command('device')
    .summary('Run a software seal answering challenges on stdin/stdout or HTTP (127.0.0.1)')
    .description(
      'Run a software seal: reads one challenge JSON per line on stdin, writes one attestation JSON per line on stdout\n' +
        '(or {"error":{code,message}}). With --http PORT it instead serves POST /challenge on 127.0.0.1.\n' +
        'The key lives in process memory; a non-exportable hardware key is future work behind the same interface.',
    )
    .requiredOption('--key <file>', 'seal private key (Ed25519 or ES256)')
    .requiredOption('--firmware <digest>', 'firmware measurement to report (sha256:<hex>)')
    .option('--seal <id>', 'only answer challenges for this seal id')
    .option('--http <port>', 'serve HTTP on 127.0.0.1:PORT (0 = any free port, printed on stderr)')
    .action(
      action(async (o: { key: string; firmware: string; seal?: string; http?: string }) => {
        const dev = new SoftwareSeal(loadPrivateKey(o.key), o.firmware, o.seal);
        if (o.http !== undefined) {
          if (!/^\d{1,5}$/.test(o.http) || Number(o.http) > 65535) throw new EvidentError('INPUT_INVALID', '--http must be a port number');
          const server = await serveHttp(dev, Number(o.http));
          const addr = server.address();
          process.stderr.write(`seal device listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : o.http}/challenge\n`);
          await new Promise<void>((resolve) => {
            const stop = () => server.close(() => resolve());
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          return;
        }
        await serveStream(dev, process.stdin, process.stdout);
      }),
    );
}

/** `evident serve` and `evident token create|list|revoke`: thin wrappers over src/server. */
import path from 'node:path';
import { Command, Option } from 'commander';
import { action } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { openDb } from '../../store/db.ts';
import { startService, DEFAULT_ORIGIN } from '../../server/service.ts';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from '../../server/ratelimit.ts';
import { MAX_PAYLOAD_BYTES, MAX_PAYLOAD_LIMIT_BYTES } from '../../receipts/receipt.ts';
import { TokenStore, SCOPES } from '../../server/tokens.ts';
import { parseWitnessSpec } from '../../log/witness/client.ts';

const DATA_DIR = './evident-data';
/** A C2SP origin: one non-empty line, printable ASCII without spaces or "+" (the signed-note key-name rules). */
const isValidOrigin = (s: string) => /^[\x21-\x2a\x2c-\x7e]{1,255}$/.test(s);
const dbFor = (o: { db?: string; dataDir: string }) => o.db ?? `sqlite:${path.join(o.dataDir, 'evident.db')}`;

export function register(program: Command): void {
  program
    .command('serve')
    .summary('Run the Evident HTTP service')
    .description(
      'Run the HTTP service. Zero configuration: embedded SQLite under ./evident-data, a generated Ed25519 signing\n' +
        'key (0600), bound to 127.0.0.1:8080. On first start it creates an admin token and prints it once.\n' +
        'Routes: GET /healthz /readyz /metrics /openapi.json /.well-known/jwks.json /v1/keys /v1/keys/{kid};\n' +
        'POST /v1/verify (report model, same as --json); POST /v1/tokens (admin).\n' +
        'Keys (docs/keys.md): POST /v1/keys/rotate, /v1/keys/{kid}/revoke (admin); ring in <data-dir>/keys/service.\n' +
        'PostgreSQL (--db postgres://…): several instances sharing the database and the data directory\'s keys serve\n' +
        'one log; exactly one sequences it (advisory lock), the others forward appends and take over when it dies.\n' +
        'CPHAR (docs/cphar.md): POST /v1/seals, /v1/seals/{id}/state, /v1/seals/{id}/revoke (register); GET /v1/seals/{id};\n' +
        'POST /v1/challenges, /v1/attestations (issue; single-use nonces in the database).\n' +
        'HarmonyØ4 engine (docs/h4.md): GET /v1/engine/info, /v1/engine/attest?nonce=N (signed, nonce single use),\n' +
        '/compress/info, /compress/attest (upstream shapes, unsigned). Engine pins EVIDENT_ENGINE_ID/_FP/_PATH (or\n' +
        'HARMONY4_*) are checked before listening: a mismatch, missing module or load failure refuses the start.\n' +
        'WCP (README): POST /v1/wcp/enroll (register), GET|POST /v1/wcp/ban-list, DELETE /v1/wcp/ban-list/{sha256} (admin),\n' +
        'GET /v1/wcp/verify/{worker_id}. With WCP_ATTEST_HMAC_KEY set, enrolled manifests\' HMACs must verify.',
    )
    .addOption(new Option('--db <url>', 'database URL: sqlite:PATH or postgres://… (default sqlite:<data-dir>/evident.db)').env('EVIDENT_DB'))
    .addOption(new Option('--data-dir <dir>', 'data directory (keys, SQLite database)').default(DATA_DIR).env('EVIDENT_DATA_DIR'))
    .addOption(new Option('--host <host>', 'address to bind').default('127.0.0.1').env('EVIDENT_HOST'))
    .addOption(new Option('--port <port>', 'TCP port').default('8080').env('EVIDENT_PORT'))
    .addOption(new Option('--origin <name>', `transparency-log origin, fixed when the log is created (default ${DEFAULT_ORIGIN})`).env('EVIDENT_ORIGIN'))
    .addOption(new Option('--log', 'structured request logs (pino JSON) on stdout (EVIDENT_LOG=1)').env('EVIDENT_LOG'))
    .addOption(new Option('--rate-limit <n>', `write requests per second per token (burst 2×; default ${DEFAULT_RATE_LIMIT.perSecond})`).env('EVIDENT_RATE_LIMIT'))
    .addOption(new Option('--max-receipt-payload <bytes>', `largest DSSE payload POST /v1/receipts signs (default ${MAX_PAYLOAD_BYTES}, at most ${MAX_PAYLOAD_LIMIT_BYTES}; over it: 413 PAYLOAD_TOO_LARGE)`).env('EVIDENT_MAX_RECEIPT_PAYLOAD'))
    .addOption(new Option('--receipt-format <v>', 'receipts POST /v1/receipts issues: v2 (Rekor v2 entries, exportable as Sigstore bundles, docs/sigstore.md) or v1').choices(['v1', 'v2']).default('v2').env('EVIDENT_RECEIPT_FORMAT'))
    .addOption(
      new Option('--witness <spec>', 'C2SP tlog-witness NAME=VKEY@URL asked to cosign every new checkpoint (repeatable; docs/log.md; EVIDENT_WITNESS: specs separated by spaces)')
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .env('EVIDENT_WITNESS'),
    )
    .addOption(new Option('--witness-quorum <n>', 'cosignatures POST /v1/receipts?cosigned= (no number) waits for (default: every --witness)').env('EVIDENT_WITNESS_QUORUM'))
    .addOption(new Option('--witness-timeout <seconds>', 'how long POST /v1/receipts?cosigned=N waits for the cosignatures before answering 504').default('10').env('EVIDENT_WITNESS_TIMEOUT'))
    .addHelpText(
      'after',
      '\nEvery option can also be set by the environment variable named in its description (EVIDENT_PORT, …); a flag\n' +
        'wins over its variable. The admin token of the first start is printed on stderr: capture it with\n' +
        '  evident serve 2> >(tee serve.log >&2)   then   grep "admin token" serve.log',
    )
    .action(
      action(async (o: { db?: string; dataDir: string; host: string; port: string; origin?: string; log?: boolean; rateLimit?: string; witness?: string[]; witnessQuorum?: string; witnessTimeout: string; receiptFormat?: string }, cmd: Command) => {
        // a boolean flag from the environment: EVIDENT_LOG=0 / false / empty means off
        if (cmd.getOptionValueSource('log') === 'env') o.log = !/^(|0|false|no|off)$/i.test(process.env.EVIDENT_LOG ?? '');
        // several witnesses in one variable: EVIDENT_WITNESS="a=VKEY@URL b=VKEY@URL"
        if (cmd.getOptionValueSource('witness') === 'env') o.witness = (process.env.EVIDENT_WITNESS ?? '').split(/\s+/).filter(Boolean);
        if (o.origin !== undefined && !isValidOrigin(o.origin)) {
          throw new EvidentError('INPUT_INVALID', `--origin must be a non-empty line of printable characters without "+" or spaces (a C2SP origin such as example.com/log), got ${JSON.stringify(o.origin)}`);
        }
        let rateLimit: RateLimitOptions | undefined;
        if (o.rateLimit !== undefined) {
          const n = Number(o.rateLimit);
          if (!/^[1-9][0-9]{0,8}$/.test(o.rateLimit) || !Number.isSafeInteger(n)) throw new EvidentError('INPUT_INVALID', `--rate-limit must be a positive integer, got ${o.rateLimit}`);
          rateLimit = { perSecond: n, burst: 2 * n };
        }
        const payloadFlag = (o as { maxReceiptPayload?: string }).maxReceiptPayload;
        let maxReceiptPayload: number | undefined;
        if (payloadFlag !== undefined) {
          maxReceiptPayload = Number(payloadFlag);
          if (!/^[1-9][0-9]{0,5}$/.test(payloadFlag) || maxReceiptPayload > MAX_PAYLOAD_LIMIT_BYTES) throw new EvidentError('INPUT_INVALID', `--max-receipt-payload must be 1..${MAX_PAYLOAD_LIMIT_BYTES} bytes, got ${payloadFlag}`);
        }
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EvidentError('INPUT_INVALID', `--port must be 0..65535, got ${o.port}`);
        const witnesses = (o.witness ?? []).map(parseWitnessSpec);
        const witnessQuorum = o.witnessQuorum === undefined ? witnesses.length : Number(o.witnessQuorum);
        if (!/^[0-9]{1,3}$/.test(o.witnessQuorum ?? '0') || witnessQuorum > witnesses.length) throw new EvidentError('INPUT_INVALID', `--witness-quorum must be 0..${witnesses.length} (the number of --witness), got ${o.witnessQuorum}`);
        if (!/^[1-9][0-9]{0,3}$/.test(o.witnessTimeout)) throw new EvidentError('INPUT_INVALID', `--witness-timeout must be 1..9999 seconds, got ${o.witnessTimeout}`);
        const s = await startService({ dataDir: o.dataDir, db: o.db, host: o.host, port, origin: o.origin, logger: !!o.log, rateLimit, maxReceiptPayload, witnesses, witnessQuorum, witnessWaitMs: Number(o.witnessTimeout) * 1000, receiptFormat: o.receiptFormat === 'v1' ? 'evident.receipt/v1' : 'evident.receipt/v2' });
        process.stderr.write(`evident service listening on ${s.url}\n`);
        process.stderr.write(`log ${s.log.origin}: ${s.log.isSequencer() ? 'this instance sequences' : 'forwarding appends to the sequencing instance (takes over if it dies)'}\n`);
        if (s.adminToken) process.stderr.write(`admin token (shown once, stored hashed): ${s.adminToken}\n`);
        process.stderr.write(`verify an artifact: npx evident verify FILE --key PUBLIC_KEY, POST ${s.url}/v1/verify, or open ${s.url}/verify in a browser (offline page)\n`);
        const stop = () => {
          s.close().finally(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );

  const token = program.command('token').description('Manage the service\'s bearer tokens (stored hashed; scopes: issue, register, admin).');
  token
    .command('create')
    .description('Create a token and print it once.')
    .requiredOption('--scope <scopes>', `comma-separated scopes (${SCOPES.join(', ')})`)
    .option('--label <text>', 'label', '')
    .addOption(new Option('--db <url>', 'database URL (default sqlite:<data-dir>/evident.db)').env('EVIDENT_DB'))
    .addOption(new Option('--data-dir <dir>', 'data directory').default(DATA_DIR).env('EVIDENT_DATA_DIR'))
    .action(
      action(async (o: { scope: string; label: string; db?: string; dataDir: string }) => {
        const db = await openDb(dbFor(o));
        try {
          const { token: t, record } = await (await TokenStore.open(db)).create(o.scope.split(',').map((s) => s.trim()).filter(Boolean), o.label);
          process.stdout.write(t + '\n');
          process.stderr.write(`token ${record.id} scopes=${record.scopes.join(',')}\n`);
        } finally {
          await db.close();
        }
      }),
    );
  token
    .command('list')
    .description('List tokens (ids, scopes, labels; never secrets).')
    .addOption(new Option('--db <url>', 'database URL (default sqlite:<data-dir>/evident.db)').env('EVIDENT_DB'))
    .addOption(new Option('--data-dir <dir>', 'data directory').default(DATA_DIR).env('EVIDENT_DATA_DIR'))
    .action(
      action(async (o: { db?: string; dataDir: string }) => {
        const db = await openDb(dbFor(o));
        try {
          for (const r of await (await TokenStore.open(db)).list()) process.stdout.write(`${r.id}\t${r.scopes.join(',')}\t${r.createdAt}\t${r.label}\n`);
        } finally {
          await db.close();
        }
      }),
    );
  token
    .command('revoke')
    .description('Revoke (delete) a token by id.')
    .argument('<id>', 'token id (the 16 hex digits after "evt_")')
    .addOption(new Option('--db <url>', 'database URL (default sqlite:<data-dir>/evident.db)').env('EVIDENT_DB'))
    .addOption(new Option('--data-dir <dir>', 'data directory').default(DATA_DIR).env('EVIDENT_DATA_DIR'))
    .action(
      action(async (id: string, o: { db?: string; dataDir: string }) => {
        const db = await openDb(dbFor(o));
        try {
          if (!(await (await TokenStore.open(db)).revoke(id))) throw new EvidentError('INPUT_INVALID', `no token ${id}`);
        } finally {
          await db.close();
        }
      }),
    );
}

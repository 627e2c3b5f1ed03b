/**
 * `evident witness serve|vkey`: a C2SP tlog-witness (src/log/witness/) cosigning the checkpoints of the logs whose
 * keys it is given, with its state (the latest verified checkpoint per log) in SQLite or PostgreSQL.
 */
import type { Command } from 'commander';
import { action } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { formatVkey, NOTE_SIG_COSIGNATURE_V1, NOTE_SIG_ED25519 } from '../../kernel/note.ts';
import { toPublicKey } from '../../kernel/keys.ts';
import { loadVkeys, loadWitnessSigner } from '../../log/witness/keys.ts';
import { Witness } from '../../log/witness/protocol.ts';
import { SqlWitnessStore, DEFAULT_WITNESS_DB } from '../../log/witness/state.ts';
import { buildWitnessServer } from '../../log/witness/server.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  const witness = program
    .command('witness')
    .description('C2SP tlog-witness: cosign log checkpoints after checking their consistency (see docs/log.md).');

  witness
    .command('serve')
    .description(
      'Serve POST /add-checkpoint (C2SP tlog-witness): verify the log signature and the consistency proof from the\n' +
        'size last cosigned, store the new checkpoint (compare-and-set), answer with a cosignature/v1 line.\n' +
        '409 (text/x.tlog.size) when the old size is not the one it holds, 422 when the proof does not verify,\n' +
        '403 bad or missing log signature, 404 unknown origin, 400 malformed. Never cosigns two inconsistent trees.',
    )
    .requiredOption('--key <file>', 'witness private key: note skey file, or Ed25519 PEM/JWK with --name')
    .option('--name <name>', 'witness key name (for PEM/JWK keys), e.g. witness.example.com')
    .requiredOption('--log <vkey>', 'log vkey(s) to witness (strings or files; comma-separated, repeatable)', collect)
    .option('--db <url>', `state database: sqlite:PATH or postgres://… (default ${DEFAULT_WITNESS_DB})`, DEFAULT_WITNESS_DB)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port', '8081')
    .option('--log-requests', 'structured request logs (pino JSON) on stdout')
    .action(
      action(async (o: { key: string; name?: string; log: string[]; db: string; host: string; port: string; logRequests?: boolean }) => {
        const signer = loadWitnessSigner(o.key, o.name);
        const logs = loadVkeys(o.log, NOTE_SIG_ED25519);
        if (logs.length === 0) throw new EvidentError('INPUT_INVALID', 'give at least one --log VKEY');
        const port = Number(o.port);
        if (!/^[0-9]{1,5}$/.test(o.port) || port > 65535) throw new EvidentError('INPUT_INVALID', `--port must be 0..65535, got ${o.port}`);
        const store = await SqlWitnessStore.open(o.db);
        const vkey = formatVkey(signer.name, toPublicKey(signer.privateKey), NOTE_SIG_COSIGNATURE_V1);
        const app = await buildWitnessServer({ witness: new Witness(signer, logs, store), vkey, logger: !!o.logRequests });
        let url: string;
        try {
          url = await app.listen({ host: o.host, port });
        } catch (e) {
          await store.close();
          throw new EvidentError('IO_ERROR', `cannot listen on ${o.host}:${port}: ${(e as Error).message}`);
        }
        process.stderr.write(`evident witness listening on ${url}\nwitness vkey: ${vkey}\nwitnessing: ${logs.map((l) => l.name).join(', ')}\n`);
        const stop = () => {
          app
            .close()
            .then(() => store.close())
            .finally(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );

  witness
    .command('vkey')
    .description('Print the cosignature/v1 verifier key (type 0x04) of a witness key.')
    .requiredOption('--key <file>', 'witness private key: note skey file, or Ed25519 PEM/JWK with --name')
    .option('--name <name>', 'witness key name (for PEM/JWK keys)')
    .action(
      action(async (o: { key: string; name?: string }) => {
        const s = loadWitnessSigner(o.key, o.name);
        process.stdout.write(formatVkey(s.name, toPublicKey(s.privateKey), NOTE_SIG_COSIGNATURE_V1) + '\n');
      }),
    );
}

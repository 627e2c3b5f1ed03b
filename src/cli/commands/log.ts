/**
 * `evident log init|append|checkpoint|prove|consistency` over src/log (SQLite or PostgreSQL).
 * Verification of the receipts `log prove` prints is `evident verify PROOF --log-key VKEY` (src/log/detector.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { action, readInput, writeFileAtomic } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { toBase64, toHex } from '../../kernel/encoding.ts';
import { formatVkey } from '../../kernel/note.ts';
import { toPublicKey } from '../../kernel/keys.ts';
import { DEFAULT_DB_URL } from '../../store/db.ts';
import { openLog, parseCheckpoint, type TransparencyLog } from '../../log/index.ts';
import { loadLogSigner } from '../../log/signer.ts';

const DB_HELP = `database URL: sqlite:PATH or postgres://… (default ${DEFAULT_DB_URL})`;

function print(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human);
}

function int(v: string, flag: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw new EvidentError('INPUT_INVALID', `${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function withLog<T>(o: { db: string; key?: string }, needSigner: boolean, fn: (log: TransparencyLog) => Promise<T>): Promise<T> {
  let log = await openLog({ db: o.db });
  if (needSigner) {
    const meta = await log.meta();
    const keyPath = o.key ?? meta?.keyPath;
    await log.close();
    if (!keyPath) throw new EvidentError('KEY_NOT_FOUND', 'no signing key: give --key or run evident log init --key');
    log = await openLog({ db: o.db, signer: loadLogSigner(keyPath, meta?.origin) });
  }
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}

export function register(program: Command): void {
  const log = program
    .command('log')
    .description('Append-only transparency log (RFC 6962 Merkle tree, C2SP checkpoints and tlog-proofs) on SQLite or PostgreSQL.')
    .addHelpText('after', '\nVerify a receipt offline: evident verify PROOF.tlog-proof --log-key VKEY (exit 0 valid, 2 bad proof, 3 bad signature, 4 key, 10 unparsable).\nSee docs/log.md.');

  log
    .command('init')
    .description('Create the log tables, record ORIGIN and the public key, sign the empty checkpoint; prints the log vkey.')
    .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
    .requiredOption('--key <file>', 'Ed25519 private key (PKCS#8 PEM / JWK) or note skey file; its path is recorded, never the key')
    .requiredOption('--origin <name>', 'log origin (checkpoint first line and key name), e.g. example.com/log')
    .option('--json', 'print one JSON object {origin, vkey, size, checkpoint}')
    .action(
      action(async (o: { db: string; key: string; origin: string; json?: boolean }) => {
        const signer = loadLogSigner(o.key, o.origin);
        const l = await openLog({ db: o.db, signer, origin: o.origin, keyPath: path.resolve(o.key) });
        try {
          const vkey = formatVkey(o.origin, toPublicKey(signer.privateKey));
          const cp = await l.latestCheckpoint();
          const size = await l.size();
          print(o, `${vkey}\n`, { origin: o.origin, vkey, size, checkpoint: cp });
        } finally {
          await l.close();
        }
      }),
    );

  log
    .command('append')
    .description('Append each FILE (or stdin for -) as one entry; waits until a signed checkpoint covers them. Prints index and leaf hash per file.')
    .argument('<files...>', 'files to append ("-" for stdin)')
    .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
    .option('--key <file>', 'signing key (default: the key file recorded by log init)')
    .option('--dedupe', 'return the existing index when an identical entry is already logged')
    .option('--json', 'print one JSON object {entries:[{file,index,leafHash}], size, checkpoint}')
    .action(
      action(async (files: string[], o: { db: string; key?: string; dedupe?: boolean; json?: boolean }) => {
        const datas = files.map((f) => readInput(f));
        let meta: { keyPath?: string; origin?: string } | undefined;
        {
          const ro = await openLog({ db: o.db });
          meta = await ro.meta();
          await ro.close();
        }
        const keyPath = o.key ?? meta?.keyPath;
        if (!keyPath) throw new EvidentError('KEY_NOT_FOUND', 'no signing key: give --key or run evident log init --key');
        const l = await openLog({ db: o.db, signer: loadLogSigner(keyPath, meta?.origin), dedupe: o.dedupe, batchMs: 0, batchSize: 4096 });
        try {
          const rs = await Promise.all(datas.map((d) => l.append(d)));
          const last = rs.reduce((a, b) => (b.size >= a.size ? b : a));
          const entries = rs.map((r, i) => ({ file: files[i]!, index: r.index, leafHash: r.leafHash }));
          print(o, entries.map((e) => `${e.index} ${e.leafHash} ${e.file}\n`).join(''), { entries, size: last.size, checkpoint: last.checkpoint });
        } finally {
          await l.close();
        }
      }),
    );

  log
    .command('checkpoint')
    .description('Print the latest signed checkpoint (C2SP tlog-checkpoint signed note).')
    .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
    .option('--json', 'print one JSON object {origin, size, rootHash, checkpoint}')
    .action(
      action(async (o: { db: string; json?: boolean }) => {
        await withLog(o, false, async (l) => {
          const cp = await l.latestCheckpoint();
          const p = parseCheckpoint(cp.slice(0, cp.indexOf('\n\n') + 1));
          print(o, cp, { origin: p.origin, size: p.size, rootHash: toHex(p.rootHash), checkpoint: cp });
        });
      }),
    );

  log
    .command('prove')
    .description('Print a C2SP tlog-proof@v1 for entry N (inclusion path + signed checkpoint; the entry bytes go in "extra").')
    .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
    .requiredOption('--index <n>', 'entry index')
    .option('--size <m>', 'tree size of an earlier checkpoint (default: the latest)')
    .option('--no-extra', 'do not embed the entry bytes (the verifier then needs --entry or only checks the path shape)')
    .option('--out <file>', 'write the proof to FILE (atomically) instead of stdout')
    .option('--json', 'print one JSON object {index, size, proof}')
    .action(
      action(async (o: { db: string; index: string; size?: string; extra: boolean; out?: string; json?: boolean }) => {
        const index = int(o.index, '--index');
        const size = o.size === undefined ? undefined : int(o.size, '--size');
        await withLog(o, false, async (l) => {
          const entry = await l.getEntry(index);
          if (!entry) throw new EvidentError('INPUT_INVALID', `no entry ${index} in the log`);
          const proof = await l.tlogProof(index, size, o.extra ? { extra: entry } : {});
          if (o.out) writeFileAtomic(o.out, proof);
          const cpSize = parseCheckpoint(proof.slice(proof.indexOf('\n\n') + 2).split('\n\n')[0] + '\n').size;
          print(o, o.out ? `${o.out}\n` : proof, { index, size: cpSize, proof });
        });
      }),
    );

  log
    .command('consistency')
    .description('Print the RFC 6962 consistency proof from tree size N to M (one base64 hash per line).')
    .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
    .requiredOption('--from <n>', 'older tree size (>= 1)')
    .requiredOption('--to <m>', 'newer tree size (<= current size)')
    .option('--json', 'print one JSON object {from, to, proof:[base64…]}')
    .action(
      action(async (o: { db: string; from: string; to: string; json?: boolean }) => {
        const from = int(o.from, '--from');
        const to = int(o.to, '--to');
        await withLog(o, false, async (l) => {
          const proof = (await l.consistencyProof(from, to)).map(toBase64);
          print(o, proof.map((p) => p + '\n').join(''), { from, to, proof });
        });
      }),
    );
}


/**
 * `evident log init|append|checkpoint|prove|consistency` over src/log (SQLite or PostgreSQL).
 * Verification of the receipts `log prove` prints is `evident verify PROOF --log-key VKEY` (src/log/detector.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action, readInput, writeFileAtomic } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { toBase64, toHex } from '../../kernel/encoding.ts';
import { formatVkey } from '../../kernel/note.ts';
import { toPublicKey } from '../../kernel/keys.ts';
import { DEFAULT_DB_URL, parseDbUrl } from '../../store/db.ts';
import { openLog, parseCheckpoint, hashLeaf, ENTRY_MAX_BYTES, type TransparencyLog } from '../../log/index.ts';
import { loadLogSigner } from '../../log/signer.ts';
import { RemoteLog } from '../../log/remote.ts';
import { monitorOnce, type MonitorCheck } from '../../log/monitor.ts';
import { NOTE_SIG_COSIGNATURE_V1, NOTE_SIG_ED25519 } from '../../kernel/note.ts';
import { loadVkeys } from '../../log/witness/keys.ts';

const DB_HELP = `database URL: sqlite:PATH or postgres://… (default ${DEFAULT_DB_URL})`;

function print(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human);
}

function int(v: string, flag: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw new EvidentError('INPUT_INVALID', `${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const URL_HELP = 'read the log over its C2SP tlog-tiles API at URL instead (any static mirror of /checkpoint and /tile/…); needs --log-key';

interface RemoteFlags {
  url?: string;
  logKey?: string;
  witness?: string[];
  witnessQuorum?: string;
}

/** A remote log client with its checkpoint fetched and its right-edge tiles verified. */
async function openRemote(o: RemoteFlags & { url: string }): Promise<{ remote: RemoteLog; note: string }> {
  if (!o.logKey) throw new EvidentError('KEY_MISSING', '--url needs --log-key VKEY (the pinned log key)');
  const [logKey] = loadVkeys([o.logKey], NOTE_SIG_ED25519);
  const witnesses = loadVkeys(o.witness ?? [], NOTE_SIG_COSIGNATURE_V1);
  const quorum = o.witnessQuorum === undefined ? undefined : int(o.witnessQuorum, '--witness-quorum');
  const remote = new RemoteLog(o.url, { logKey: logKey!, witnesses, quorum });
  const { note } = await remote.checkpoint();
  return { remote, note };
}

function remoteOptions(c: Command): Command {
  return c
    .option('--url <url>', URL_HELP)
    .option('--log-key <vkey>', 'with --url: pinned log vkey (string or file)')
    .option('--witness <vkey>', 'with --url: witness cosignature vkey (repeatable)', collect)
    .option('--witness-quorum <n>', 'with --url: cosignatures required from the --witness keys');
}

async function withLog<T>(o: { db: string; key?: string }, needSigner: boolean, fn: (log: TransparencyLog) => Promise<T>): Promise<T> {
  if (!needSigner) {
    // read-only commands never create a database: a missing SQLite file is an error, not a new empty log
    const u = parseDbUrl(o.db);
    if (u.kind === 'sqlite' && u.path !== ':memory:' && !fs.existsSync(u.path)) throw new EvidentError('IO_ERROR', `no log database at ${u.path} (create one with evident log init)`);
  }
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
        // refused before anything is stored: an entry bundle length prefix is a uint16 (C2SP tlog-tiles)
        datas.forEach((d, i) => {
          if (d.length > ENTRY_MAX_BYTES) throw new EvidentError('ENTRY_TOO_LARGE', `${files[i]}: ${d.length} bytes is larger than ${ENTRY_MAX_BYTES} bytes, the largest entry a tlog-tiles entry bundle can carry`);
        });
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

  remoteOptions(
    log
      .command('checkpoint')
      .description('Print the latest signed checkpoint (C2SP tlog-checkpoint signed note); with --url, fetched and verified (tiles included).')
      .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
      .option('--json', 'print one JSON object {origin, size, rootHash, checkpoint}'),
  ).action(
    action(async (o: RemoteFlags & { db: string; json?: boolean }) => {
      const show = (cp: string) => {
        const p = parseCheckpoint(cp.slice(0, cp.indexOf('\n\n') + 1));
        print(o, cp, { origin: p.origin, size: p.size, rootHash: toHex(p.rootHash), checkpoint: cp });
      };
      if (o.url) return show((await openRemote({ ...o, url: o.url })).note);
      await withLog(o, false, async (l) => show(await l.latestCheckpoint()));
    }),
  );

  remoteOptions(
    log
      .command('prove')
      .description('Print a C2SP tlog-proof@v1 for entry N (inclusion path + signed checkpoint; the entry bytes go in "extra").')
      .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
      .requiredOption('--index <n>', 'entry index')
      .option('--size <m>', 'tree size of an earlier checkpoint (default: the latest; with --url only the latest)')
      .option('--no-extra', 'do not embed the entry bytes (the verifier then needs --entry FILE or --leaf-hash HEX, else ENTRY_MISSING)')
      .option('--out <file>', 'write the proof to FILE (atomically) instead of stdout')
      .option('--json', 'print one JSON object {index, size, proof}'),
  ).action(
    action(async (o: RemoteFlags & { db: string; index: string; size?: string; extra: boolean; out?: string; json?: boolean }) => {
      const index = int(o.index, '--index');
      const size = o.size === undefined ? undefined : int(o.size, '--size');
      const emit = (proof: string) => {
        if (o.out) writeFileAtomic(o.out, proof);
        const cpSize = parseCheckpoint(proof.slice(proof.indexOf('\n\n') + 2).split('\n\n')[0] + '\n').size;
        print(o, o.out ? `${o.out}\n` : proof, { index, size: cpSize, proof });
      };
      if (o.url) {
        const { remote } = await openRemote({ ...o, url: o.url });
        if (size !== undefined && size !== remote.size) throw new EvidentError('INPUT_INVALID', `--size ${size}: over --url only the latest checkpoint (size ${remote.size}) is available`);
        if (index >= remote.size) throw new EvidentError('INPUT_INVALID', `no entry ${index} in the log (size ${remote.size})`);
        return emit(await remote.tlogProof(index, { extra: o.extra }));
      }
      await withLog(o, false, async (l) => {
        const entry = await l.getEntry(index);
        if (!entry) throw new EvidentError('INPUT_INVALID', `no entry ${index} in the log`);
        emit(await l.tlogProof(index, size, o.extra ? { extra: entry } : {}));
      });
    }),
  );

  remoteOptions(
    log
      .command('consistency')
      .description('Print the RFC 6962 consistency proof from tree size N to M (one base64 hash per line).')
      .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
      .requiredOption('--from <n>', 'older tree size (>= 1)')
      .option('--to <m>', 'newer tree size (<= current size; default the current size)')
      .option('--json', 'print one JSON object {from, to, proof:[base64…]}'),
  ).action(
    action(async (o: RemoteFlags & { db: string; from: string; to?: string; json?: boolean }) => {
      const from = int(o.from, '--from');
      const emit = (to: number, hashes: Uint8Array[]) => {
        const proof = hashes.map(toBase64);
        print(o, proof.map((p) => p + '\n').join(''), { from, to, proof });
      };
      if (o.url) {
        const { remote } = await openRemote({ ...o, url: o.url });
        const to = o.to === undefined ? remote.size : int(o.to, '--to');
        return emit(to, await remote.consistencyProof(from, to));
      }
      await withLog(o, false, async (l) => {
        const to = o.to === undefined ? await l.size() : int(o.to, '--to');
        emit(to, await l.consistencyProof(from, to));
      });
    }),
  );

  remoteOptions(
    log
      .command('entries')
      .description('Print entries [FROM, TO) as "index leafhash base64" lines; with --url read from the entry bundles, each checked against the verified tiles.')
      .option('--db <url>', DB_HELP, DEFAULT_DB_URL)
      .option('--from <n>', 'first index', '0')
      .option('--to <m>', 'end index, exclusive (default: the tree size)')
      .option('--json', 'print one JSON object {from, to, entries:[{index, leafHash, data (base64)}]}'),
  ).action(
    action(async (o: RemoteFlags & { db: string; from: string; to?: string; json?: boolean }) => {
      const from = int(o.from, '--from');
      const emit = (to: number, datas: Uint8Array[]) => {
        const entries = datas.map((d, i) => ({ index: from + i, leafHash: toHex(hashLeaf(d)), data: toBase64(d) }));
        print(o, entries.map((e) => `${e.index} ${e.leafHash} ${e.data}\n`).join(''), { from, to, entries });
      };
      if (o.url) {
        const { remote } = await openRemote({ ...o, url: o.url });
        const to = o.to === undefined ? remote.size : int(o.to, '--to');
        return emit(to, await remote.entries(from, to));
      }
      await withLog(o, false, async (l) => {
        const size = await l.size();
        const to = o.to === undefined ? size : int(o.to, '--to');
        if (from > to || to > size) throw new EvidentError('INPUT_INVALID', `entries [${from}, ${to}) are not in the log of size ${size}`);
        const datas: Uint8Array[] = [];
        for (let i = from; i < to; i++) datas.push((await l.getEntry(i))!);
        emit(to, datas);
      });
    }),
  );

  log
    .command('monitor')
    .description(
      'Monitor a log over its tlog-tiles API: verify the checkpoint (log key, witnesses), prove it consistent with the\n' +
        'last verified one (kept in --state, written atomically), optionally re-hash every new entry (--audit).\n' +
        'Exit 1 with a message naming both checkpoints on a fork, rollback, tile mismatch or witness failure.',
    )
    .requiredOption('--url <url>', 'log (or mirror) URL prefix serving /checkpoint and /tile/…')
    .requiredOption('--log-key <vkey>', 'pinned log vkey (string or file)')
    .requiredOption('--state <file>', 'state file: the last verified checkpoint (created on the first check)')
    .option('--witness <vkey>', 'witness cosignature vkey (repeatable)', collect)
    .option('--witness-quorum <n>', 'cosignatures required from the --witness keys (default: all given)')
    .option('--audit', 'fetch every new entry from the entry bundles and re-hash it against the tiles')
    .option('--watch <seconds>', 'check again every SECONDS until a check fails (or SIGINT/SIGTERM)')
    .option('--json', 'print one JSON object per check')
    .action(
      action(async (o: { url: string; logKey: string; state: string; witness?: string[]; witnessQuorum?: string; audit?: boolean; watch?: string; json?: boolean }) => {
        const [logKey] = loadVkeys([o.logKey], NOTE_SIG_ED25519);
        const witnesses = loadVkeys(o.witness ?? [], NOTE_SIG_COSIGNATURE_V1);
        const quorum = o.witnessQuorum === undefined ? witnesses.length : int(o.witnessQuorum, '--witness-quorum');
        const every = o.watch === undefined ? undefined : int(o.watch, '--watch');
        if (every === 0) throw new EvidentError('INPUT_INVALID', '--watch must be at least 1 second');
        let stop = false;
        const onSignal = () => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          for (;;) {
            const c: MonitorCheck = await monitorOnce({ url: o.url, logKey: logKey!, stateFile: o.state, witnesses, quorum, audit: o.audit });
            if (o.json) process.stdout.write(JSON.stringify(c) + '\n');
            else process.stdout.write(`${c.ok ? 'ok' : 'FAIL'} ${c.code}: ${c.message}${c.witnesses.length ? ` (cosigned by ${c.witnesses.join(', ')})` : ''}${c.audited !== undefined ? ` (${c.audited} entries re-hashed)` : ''}\n`);
            if (!c.ok) {
              if (!o.json) process.stderr.write(`evident: ${c.code}: ${c.message}\n`);
              process.exitCode = 1;
              return;
            }
            if (every === undefined || stop) return;
            for (let waited = 0; waited < every * 1000 && !stop; waited += 100) await new Promise((r) => setTimeout(r, 100));
            if (stop) return;
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}

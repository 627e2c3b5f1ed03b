/**
 * `evident receipt export --sigstore RECEIPT` and `evident trusted-root`: Evident as a private Sigstore
 * (docs/sigstore.md). Thin wrappers over src/receipts/sigstore-export.ts and src/receipts/trusted-root.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { action, readInput, writeFileAtomic } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { parseJson, toPlain, type JsonValue } from '../../kernel/json/index.ts';
import { looksLikeVkey, parseVkey } from '../../kernel/note.ts';
import { toBase64 } from '../../kernel/encoding.ts';
import { toSigstoreBundle } from '../../receipts/sigstore-export.ts';
import { logKeyId } from '../../receipts/receipt-v2.ts';
import { buildTrustedRoot } from '../../receipts/trusted-root.ts';
import { loadPublicKey, KEY_DIR_FILES } from '../../store/keyfiles.ts';

const DATA_DIR = './evident-data';

function output(text: string, out: string | undefined): void {
  if (out) writeFileAtomic(out, text);
  else process.stdout.write(text);
}

export function register(program: Command): void {
  const receipt = program.command('receipt').summary('Evident receipts: export as Sigstore bundles').description('Evident receipts (evident.receipt/v1, v2).');
  receipt
    .command('export')
    .summary('Export an evident.receipt/v2 receipt as a Sigstore bundle v0.3')
    .description(
      'Write the receipt as a Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json): its DSSE envelope, a\n' +
        'publicKey hint (the issuer key id), the log entry (Rekor v2 dsse 0.0.2 body) with its inclusion proof and\n' +
        'signed checkpoint, and the RFC 3161 timestamp. Nothing is re-signed. Verify it with sigstore-js / cosign and\n' +
        'the deployment\'s trusted root (`evident trusted-root`), or with `evident verify`. v1 receipts cannot be\n' +
        'exported (their log entry is not a Rekor body): exit 10.',
    )
    .argument('<receipt>', 'receipt JSON file, or - for stdin')
    .requiredOption('--sigstore', 'export format: Sigstore bundle v0.3 (the only one)')
    .option('--log-key <vkey>', 'the log\'s C2SP vkey: sets the bundle\'s logId (default: the receipt\'s log.key_id)')
    .option('-o, --out <file>', 'write the bundle here (atomically) instead of stdout')
    .action(
      action(async (file: string, o: { sigstore: boolean; logKey?: string; out?: string }) => {
        const r = toPlain(parseJson(readInput(file)) as JsonValue);
        let logKeyIdB64: string | undefined;
        if (o.logKey) {
          if (!looksLikeVkey(o.logKey)) throw new EvidentError('KEY_INVALID', '--log-key must be a C2SP vkey (name+hash+key)');
          const v = parseVkey(o.logKey);
          logKeyIdB64 = toBase64(logKeyId(v.name, v.publicKey));
        }
        output(JSON.stringify(toSigstoreBundle(r, { logKeyId: logKeyIdB64 }), null, 2) + '\n', o.out);
      }),
    );

  const tsa = program.command('tsa').summary('The service\'s RFC 3161 time-stamp authority keys').description('The service TSA keys under <data-dir>/keys/tsa (docs/sigstore.md).');
  tsa
    .command('rotate')
    .summary('Replace the TSA key and chain; the old chain stays in the trusted root with its window')
    .description(
      'Create a new TSA key (ECDSA P-256) and chain (self-signed root + leaf with EKU timeStamping) and retire the\n' +
        'active one with valid_to = now: it stays in the trusted root, so timestamps it made before keep verifying.\n' +
        'A running service picks the change up within a second.',
    )
    .option('--data-dir <dir>', 'service data directory', DATA_DIR)
    .option('--json', 'print the new authority list as JSON')
    .action(
      action(async (o: { dataDir: string; json?: boolean }) => {
        const dir = path.join(o.dataDir, 'keys', 'tsa');
        if (!fs.existsSync(path.join(dir, 'tsa.json'))) throw new EvidentError('IO_ERROR', `no TSA keys in ${dir}: start the service once`);
        const { rotateTsa } = await import('../../tsa/store.ts');
        const s = await rotateTsa(dir);
        const list = s.authorities.map((a) => ({ valid_from: a.validFrom, ...(a.validTo ? { valid_to: a.validTo } : {}) }));
        if (o.json) process.stdout.write(JSON.stringify({ authorities: list }, null, 2) + '\n');
        else process.stdout.write(`TSA rotated: ${list.length} chain(s); the new one is valid from ${list.at(-1)!.valid_from}\n`);
      }),
    );

  program
    .command('trusted-root')
    .summary('Print the Sigstore TrustedRoot of an Evident deployment')
    .description(
      'The Sigstore TrustedRoot JSON (application/vnd.dev.sigstore.trustedroot+json;version=0.1): the transparency\n' +
        'log (Ed25519 key, logId = C2SP key id, baseUrl https://<origin>) and the RFC 3161 TSA chains with their\n' +
        'validity windows. From a running service (--url: GET /v1/trusted-root) or from its data directory.',
    )
    .addOption(new Option('--url <url>', 'service base URL (GET /v1/trusted-root)').conflicts('dataDir'))
    .option('--data-dir <dir>', 'service data directory (keys/log, keys/tsa, the database\'s log origin)')
    .option('--db <url>', 'database URL (default sqlite:<data-dir>/evident.db), for the log origin')
    .option('--origin <name>', 'the log origin (default: read from the database)')
    .option('-o, --out <file>', 'write here (atomically) instead of stdout')
    .action(
      action(async (o: { url?: string; dataDir?: string; db?: string; origin?: string; out?: string }) => {
        if (o.url) {
          let res: Response;
          try {
            res = await fetch(new URL('/v1/trusted-root', o.url));
          } catch (e) {
            throw new EvidentError('KEY_FETCH_FAILED', `cannot fetch ${o.url}/v1/trusted-root: ${(e as Error).message}`);
          }
          if (!res.ok) throw new EvidentError('KEY_FETCH_FAILED', `${o.url}/v1/trusted-root answered ${res.status}`);
          output(JSON.stringify(JSON.parse(await res.text()), null, 2) + '\n', o.out);
          return;
        }
        const dir = o.dataDir ?? DATA_DIR;
        const logPub = path.join(dir, 'keys', 'log', KEY_DIR_FILES.public);
        const logPriv = path.join(dir, 'keys', 'log', KEY_DIR_FILES.private);
        if (!fs.existsSync(logPub)) throw new EvidentError('IO_ERROR', `no log key in ${dir} (keys/log/${KEY_DIR_FILES.public}): start the service once, or use --url`);
        let origin = o.origin;
        if (!origin) {
          const { openStorage } = await import('../../log/index.ts');
          const storage = await openStorage(o.db ?? `sqlite:${path.join(dir, 'evident.db')}`);
          origin = (await storage.getMeta().finally(() => storage.close()))?.origin;
          if (!origin) throw new EvidentError('INPUT_INVALID', 'the database records no log origin: pass --origin');
        }
        const { openTsaStore } = await import('../../tsa/store.ts');
        const tsaDir = path.join(dir, 'keys', 'tsa');
        if (!fs.existsSync(path.join(tsaDir, 'tsa.json'))) throw new EvidentError('IO_ERROR', `no TSA keys in ${tsaDir}: start the service once, or use --url`);
        const tsa = await openTsaStore(tsaDir);
        const validFrom = fs.statSync(fs.existsSync(logPriv) ? logPriv : logPub).mtime.toISOString();
        // the issuing CA and CT log (keys/ca), when the service created them
        const caDir = path.join(dir, 'keys', 'ca');
        const ca = fs.existsSync(path.join(caDir, 'ca.json')) ? await (await import('../../ca/store.ts')).openCaStore(caDir, { create: false }) : undefined;
        const root = buildTrustedRoot({ logs: [{ origin, publicKey: loadPublicKey(logPub), validFrom }], tsas: tsa.authorities, ...(ca ? { cas: ca.authorities, ctlogs: ca.ctlogs } : {}) });
        output(JSON.stringify(root, null, 2) + '\n', o.out);
      }),
    );
}

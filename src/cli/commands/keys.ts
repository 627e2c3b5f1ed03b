/**
 * `evident keys generate|id|trust add|trust revoke|trust list`, the service key ring (`keys rotate|revoke|list`)
 * and `evident sign`. Thin wrappers over kernel/keys.ts, kernel/truststore.ts, kernel/dsse.ts, kernel/note.ts,
 * store/keyfiles.ts and server/keyring.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { action, readInput, timeFlag } from '../util.ts';
import { EvidentError } from '../../kernel/errors.ts';
import { keyId, KEY_ID_STYLES, SIG_ALGS, algOfKey, type KeyIdStyle, type SigAlg } from '../../kernel/keys.ts';
import { TrustStore } from '../../kernel/truststore.ts';
import { signDsse } from '../../kernel/dsse.ts';
import { noteSigner, signNote, formatVkey } from '../../kernel/note.ts';
import { sign } from '../../kernel/sign.ts';
import { toBase64 } from '../../kernel/encoding.ts';
import { loadPrivateKey, loadPublicKey, loadTrustStore, saveTrustStore, writeKeyDir } from '../../store/keyfiles.ts';
import { KeyRing, type RingEntry } from '../../server/keyring.ts';

const DATA_DIR = './evident-data';
const ringDir = (dataDir: string) => path.join(dataDir, 'keys', 'service');
/** The service key ring of a data directory; refuses a directory where `evident serve` never created keys. */
async function openRing(dataDir: string): Promise<KeyRing> {
  const dir = ringDir(dataDir);
  if (!fs.existsSync(path.join(dir, 'ring.json')) && !fs.existsSync(path.join(dir, 'private.pem'))) {
    throw new EvidentError('KEY_NOT_FOUND', `no service key ring in ${dir} (evident serve --data-dir ${dataDir} creates it)`);
  }
  return KeyRing.open(dir);
}
/** A ring entry without the private key path (what the service publishes, plus the file for operators). */
const ringLine = (e: RingEntry) =>
  [e.kid, e.alg, e.status, e.created_at, e.retired_at ? `retired ${e.retired_at}` : '', e.revoked_at ? `revoked ${e.revoked_at}` : ''].filter(Boolean).join('\t');

function out(o: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(o.json ? JSON.stringify(json) + '\n' : human + '\n');
}

/** A time flag checked as RFC 3339 and kept as written (the trust store records the text). */
function checkedTime(s: string | undefined, flag: string): string | undefined {
  timeFlag(s, flag);
  return s;
}

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('Generate key pairs, compute key ids, manage trust stores.')
    .addHelpText(
      'after',
      '\nKey files: PKCS#8 PEM private keys (PKCS#1/SEC1 PEM and JWK with "d" also read), SPKI PEM or JWK public keys.\n' +
        'Algorithms: ed25519, rs256 (RSA >= 2048 bits, PKCS#1 v1.5 SHA-256), es256 (ECDSA P-256 SHA-256).\n' +
        'See docs/keys.md.',
    );

  keys
    .command('generate')
    .description('Generate a key pair into DIR: private.pem (PKCS#8, mode 0600), public.pem (SPKI), public.jwk. Prints the kid.')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices([...SIG_ALGS]).default('ed25519'))
    .requiredOption('--out <dir>', 'output directory (created if missing, mode 0700)')
    .option('--force', 'overwrite existing key files in DIR')
    .option('--json', 'print one JSON object {kid, alg, privatePath, publicPath, jwkPath}')
    .action(
      action((o: { alg: SigAlg; out: string; force?: boolean; json?: boolean }) => {
        const r = writeKeyDir(o.out, o.alg, { force: o.force });
        out(o, r.kid, r);
        if (!o.json) process.stderr.write(`wrote ${r.privatePath} (0600), ${r.publicPath}, ${r.jwkPath}\n`);
      }),
    );

  keys
    .command('id')
    .summary('Print the key id of a key file (jwk | spki-hex | pem-sha256)')
    .description(
      'Print the key id of a key file (public or private: PEM or JWK).\n' +
        '  jwk:        "sha256:" + hex SHA-256 of the RFC 7638 JWK thumbprint input (default)\n' +
        '  spki-hex:   lowercase hex of the SPKI DER (HashMatch receipts\' publicKey)\n' +
        '  pem-sha256: "sha256:" + hex SHA-256 of the SPKI PEM text (ELI-Sentinel kid)',
    )
    .argument('<keyfile>', 'key file (PEM or JWK)')
    .addOption(new Option('--style <style>', 'key id style').choices([...KEY_ID_STYLES]).default('jwk'))
    .option('--vkey <name>', 'also print the C2SP signed-note vkey for this (Ed25519) key under NAME')
    .option('--json', 'print one JSON object {kid, style, alg}')
    .action(
      action((file: string, o: { style: KeyIdStyle; vkey?: string; json?: boolean }) => {
        const key = loadPublicKey(file);
        const kid = keyId(key, o.style);
        const res: Record<string, string> = { kid, style: o.style, alg: algOfKey(key) };
        if (o.vkey !== undefined) res.vkey = formatVkey(o.vkey, key);
        out(o, o.vkey !== undefined ? `${kid}\n${res.vkey}` : kid, res);
      }),
    );

  keys
    .command('rotate')
    .summary("Rotate the service signing key (new active key; the previous one is retired, still published)")
    .description(
      "Create a new service signing key in <data-dir>/keys/service/ (private key 0600) and make it the active key;\n" +
        'the previous active key becomes retired: it no longer signs but stays in /v1/keys and the JWKS, so receipts\n' +
        'it signed still verify. A running service on the same data directory picks the change up within a second\n' +
        '(or use POST /v1/keys/rotate). Prints the new kid.',
    )
    .option('--data-dir <dir>', 'service data directory', DATA_DIR)
    .addOption(new Option('--alg <alg>', 'signature algorithm of the new key').choices([...SIG_ALGS]).default('ed25519'))
    .option('--json', 'print one JSON object {active, retired}')
    .action(
      action(async (o: { dataDir: string; alg: SigAlg; json?: boolean }) => {
        const r = await (await openRing(o.dataDir)).rotate(o.alg);
        out(o, r.active.kid, { active: r.active, retired: r.retired });
        if (!o.json) for (const e of r.retired) process.stderr.write(`retired ${e.kid}\n`);
      }),
    );

  keys
    .command('revoke')
    .summary('Revoke a service signing key (dropped from the JWKS, marked revoked in /v1/keys)')
    .description(
      'Mark a key of the service key ring revoked: it never signs again, the JWKS leaves it out and /v1/keys lists it\n' +
        'with revoked_at. Revoking the active key first rotates to a new active key. Revoking twice changes nothing.\n' +
        '(For trust store files use: evident keys trust revoke.)',
    )
    .argument('<kid>', 'key id (sha256:…) as listed by evident keys list')
    .option('--data-dir <dir>', 'service data directory', DATA_DIR)
    .option('--reason <text>', 'reason recorded with the revocation')
    .option('--json', 'print one JSON object {revoked, active, rotated, already}')
    .action(
      action(async (kid: string, o: { dataDir: string; reason?: string; json?: boolean }) => {
        const r = await (await openRing(o.dataDir)).revoke(kid, o.reason);
        out(o, `${r.already ? 'already revoked' : 'revoked'} ${r.revoked.kid}${r.rotated ? `\nactive ${r.active.kid}` : ''}`, r);
      }),
    );

  keys
    .command('list')
    .description('List the service key ring: kid, alg, status (active | retired | revoked) and dates.')
    .option('--data-dir <dir>', 'service data directory', DATA_DIR)
    .option('--json', 'print one JSON object {keys:[…]}')
    .action(
      action(async (o: { dataDir: string; json?: boolean }) => {
        const list = (await openRing(o.dataDir)).list();
        out(o, list.map(ringLine).join('\n'), { keys: list });
      }),
    );

  const trust = keys
    .command('trust')
    .description('Manage a trust store file {"version":1,"keys":[{kid, alg, jwk, notBefore?, notAfter?, revoked?, label?}]}.');

  trust
    .command('add')
    .description('Add a public key to the trust store (created if missing). Prints the kid. Writes atomically.')
    .requiredOption('--trust <file>', 'trust store file')
    .argument('<keyfile>', 'public (or private) key file, PEM or JWK; only the public key is stored')
    .option('--kid <kid>', 'key id to store (default: the RFC 7638 "sha256:" id)')
    .option('--kid-style <style>', `compute the kid with this style (${KEY_ID_STYLES.join(', ')})`)
    .option('--not-before <time>', 'RFC 3339 start of validity')
    .option('--not-after <time>', 'RFC 3339 end of validity')
    .option('--label <text>', 'free-form label')
    .option('--json', 'print the new entry as one JSON object')
    .action(
      action(
        (
          keyfile: string,
          o: { trust: string; kid?: string; kidStyle?: string; notBefore?: string; notAfter?: string; label?: string; json?: boolean },
        ) => {
          const key = loadPublicKey(keyfile);
          const store = fs.existsSync(o.trust) ? loadTrustStore(o.trust) : TrustStore.empty();
          let kid = o.kid;
          if (kid === undefined && o.kidStyle !== undefined) {
            if (!(KEY_ID_STYLES as readonly string[]).includes(o.kidStyle)) throw new EvidentError('INPUT_INVALID', `unknown --kid-style ${o.kidStyle}`);
            kid = keyId(key, o.kidStyle as KeyIdStyle);
          }
          let entry;
          try {
            entry = store.add(key, {
              kid,
              label: o.label,
              notBefore: checkedTime(o.notBefore, '--not-before'),
              notAfter: checkedTime(o.notAfter, '--not-after'),
            });
          } catch (e) {
            // a malformed addition is an input error, not a broken store
            if (e instanceof EvidentError && e.code === 'TRUST_STORE_INVALID') throw new EvidentError('INPUT_INVALID', e.message);
            throw e;
          }
          saveTrustStore(o.trust, store);
          out(o, entry.kid, entry);
        },
      ),
    );

  trust
    .command('revoke')
    .description('Mark a key revoked (always, or from --at). Writes atomically.')
    .requiredOption('--trust <file>', 'trust store file')
    .argument('<kid>', 'key id in the store')
    .option('--at <time>', 'RFC 3339 time from which the key is revoked (default: revoked for all times)')
    .option('--reason <text>', 'reason recorded with the revocation')
    .option('--json', 'print the updated entry as one JSON object')
    .action(
      action((kid: string, o: { trust: string; at?: string; reason?: string; json?: boolean }) => {
        const store = loadTrustStore(o.trust);
        const entry = store.revoke(kid, { at: checkedTime(o.at, '--at'), reason: o.reason });
        saveTrustStore(o.trust, store);
        out(o, `revoked ${entry.kid}`, entry);
      }),
    );

  trust
    .command('list')
    .description('List the keys of a trust store with their status now.')
    .requiredOption('--trust <file>', 'trust store file')
    .option('--json', 'print the store as one JSON object')
    .action(
      action((o: { trust: string; json?: boolean }) => {
        const store = loadTrustStore(o.trust);
        const lines = store.keys().map((e) => `${e.kid}\t${e.alg}\t${TrustStore.status(e)}${e.label ? `\t${e.label}` : ''}`);
        out(o, lines.join('\n'), store.toJSON());
      }),
    );

  program
    .command('sign')
    .summary('Sign a file as a DSSE envelope, a C2SP signed note or a bare signature')
    .description(
      'Sign a file (or stdin with "-") with a private key and print the result on stdout:\n' +
        '  --dsse TYPE   a DSSE v1 envelope JSON with payloadType TYPE (e.g. application/vnd.in-toto+json)\n' +
        '  --note        a C2SP signed note (Ed25519 keys; the input must be UTF-8 text ending in a newline)\n' +
        '  --raw         the bare signature in standard base64 (ES256: IEEE P1363 r||s)\n' +
        'Verify with: evident verify FILE --key PUBLIC_KEY (or --trust STORE).',
    )
    .argument('[file]', 'input file, or - for stdin', '-')
    .requiredOption('--key <file>', 'private key file (PEM or JWK)')
    .option('--dsse <payloadType>', 'produce a DSSE envelope with this payloadType')
    .option('--note', 'produce a signed note')
    .option('--raw', 'produce a bare base64 signature')
    .option('--name <name>', 'signed note key name', 'evident')
    .option('--keyid <kid>', 'DSSE keyid hint (default: the RFC 7638 "sha256:" id; "" to omit)')
    .action(
      action((file: string, o: { key: string; dsse?: string; note?: boolean; raw?: boolean; name: string; keyid?: string }) => {
        const modes = [o.dsse !== undefined, !!o.note, !!o.raw].filter(Boolean).length;
        if (modes !== 1) throw new EvidentError('INPUT_INVALID', 'choose exactly one of --dsse TYPE, --note, --raw');
        const priv = loadPrivateKey(o.key);
        const data = readInput(file);
        if (o.dsse !== undefined) {
          const keyid = o.keyid === undefined ? keyId(priv) : o.keyid === '' ? undefined : o.keyid;
          process.stdout.write(JSON.stringify(signDsse(o.dsse, data, priv, keyid), null, 2) + '\n');
        } else if (o.note) {
          if (algOfKey(priv) !== 'ed25519') throw new EvidentError('KEY_UNSUPPORTED', 'signed notes need an Ed25519 key');
          let text: string;
          try {
            text = new TextDecoder('utf-8', { fatal: true }).decode(data);
          } catch {
            throw new EvidentError('NOTE_INVALID', 'note text is not valid UTF-8');
          }
          process.stdout.write(signNote(text, noteSigner(o.name, priv)));
        } else {
          process.stdout.write(toBase64(sign(priv, data)) + '\n');
        }
      }),
    );
}

/** Log signing keys from files, and opening a database's log for appends when it was initialised with a key. */
import { EvidentError } from '../kernel/errors.ts';
import { noteSigner, parseSkey, type NoteSigner } from '../kernel/note.ts';
import { loadPrivateKey, readKeyText } from '../store/keyfiles.ts';
import { openLog, openStorage, type TransparencyLog } from './index.ts';

/** Signer from a key file: a note skey ("PRIVATE+KEY+name+…") or an Ed25519 private key (PEM/JWK). */
export function loadLogSigner(file: string, origin: string | undefined): NoteSigner {
  const text = readKeyText(file, 'log key file').trim();
  if (text.startsWith('PRIVATE+KEY+')) {
    const s = parseSkey(text);
    if (origin && s.name !== origin) throw new EvidentError('KEY_INVALID', `skey name ${JSON.stringify(s.name)} differs from the origin ${JSON.stringify(origin)}`);
    return s;
  }
  if (!origin) throw new EvidentError('INPUT_INVALID', 'the log origin is unknown (run evident log init --origin NAME)');
  return noteSigner(origin, loadPrivateKey(file, 'ed25519'));
}


/**
 * The database's transparency log opened for appends, when `evident log init` recorded a signing key for it;
 * undefined when the database has no initialised log.
 */
export async function openInitialisedLog(db: string): Promise<TransparencyLog | undefined> {
  const storage = await openStorage(db);
  const meta = await storage.getMeta().finally(() => storage.close());
  if (!meta?.keyPath) return undefined;
  return openLog({ db, signer: loadLogSigner(meta.keyPath, meta.origin), batchMs: 0 });
}

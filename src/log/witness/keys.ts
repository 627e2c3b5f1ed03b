/** Witness and log keys from files or strings (witness serve, serve --witness, verify --witness, log monitor). */
import { EvidentError } from '../../kernel/errors.ts';
import { looksLikeVkey, noteSigner, parseSkey, parseVkey, NOTE_SIG_COSIGNATURE_V1, type NoteSigner, type NoteVerifier } from '../../kernel/note.ts';
import { loadPrivateKey, readKeyText } from '../../store/keyfiles.ts';

/** The witness key: a note skey (type 0x01 or 0x04; used as cosignature/v1) or an Ed25519 PEM/JWK with --name. */
export function loadWitnessSigner(file: string, name: string | undefined): NoteSigner {
  const text = readKeyText(file, 'witness key file').trim();
  if (text.startsWith('PRIVATE+KEY+')) {
    const s = parseSkey(text);
    if (name && s.name !== name) throw new EvidentError('KEY_INVALID', `skey name ${JSON.stringify(s.name)} differs from --name ${JSON.stringify(name)}`);
    return noteSigner(s.name, s.privateKey, NOTE_SIG_COSIGNATURE_V1);
  }
  if (!name) throw new EvidentError('INPUT_INVALID', 'give --name NAME for a PEM/JWK witness key (or use a note skey)');
  return noteSigner(name, loadPrivateKey(file, 'ed25519'), NOTE_SIG_COSIGNATURE_V1);
}

/** Log vkeys: strings or files, comma-separated and/or repeated. */
export function loadVkeys(specs: string[], type: number): NoteVerifier[] {
  return specs
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const v = parseVkey(looksLikeVkey(s) ? s : readKeyText(s, 'vkey file').trim());
      if (v.type !== type) throw new EvidentError('KEY_INVALID', `${v.name}: expected a type 0x0${type} vkey, got 0x0${v.type}`);
      return v;
    });
}


/**
 * The X.509 plumbing the TSA (src/tsa/) and the issuing CA (src/ca/) share: pkijs / asn1js loaded the way pkijs
 * needs, its WebCrypto engine, byte-view helpers, and the small certificate pieces both build (names, serials,
 * key usage, RFC 5280 key identifiers, ECDSA P-256 signing keys).
 */
import { createHash, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { generateKeyPair } from '../kernel/keys.ts';
import { createRequire } from 'node:module';
import type * as Pkijs from 'pkijs';
import type * as Asn1js from 'pkijs/node_modules/asn1js';

// pkijs checks `instanceof` against its own asn1js (it pins asn1js 3 while the top level has 4): load both through
// CommonJS from pkijs's own location, so the values built here are the instances pkijs expects, whatever the layout.
const requireHere = createRequire(import.meta.url);
const pkijsMain = requireHere.resolve('pkijs');
export const pkijs = requireHere(pkijsMain) as typeof Pkijs;
export const asn1js = createRequire(pkijsMain)('asn1js') as typeof Asn1js;
export type { Pkijs, Asn1js };
export type CryptoKey = import('node:crypto').webcrypto.CryptoKey;

let engineSet = false;
/** pkijs on node's WebCrypto (idempotent). */
export function pkiEngine(): void {
  if (engineSet) return;
  pkijs.setEngine('evident-node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] }));
  engineSet = true;
}

/** A copy of the bytes as an ArrayBuffer (what pkijs / asn1js take). */
export const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
/** A Uint8Array view of an ArrayBuffer or view (no copy). */
export const u8 = (b: ArrayBuffer | ArrayBufferView): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_KEY_USAGE = '2.5.29.15';

/** `O=Evident, CN=<cn>` (UTF8String values). */
export function distinguishedName(cn: string): Pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: OID_ORGANIZATION, value: new asn1js.Utf8String({ value: 'Evident' }) }),
      new pkijs.AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new asn1js.Utf8String({ value: cn }) }),
    ],
  });
}

/** A random 16-byte positive serial number with no leading zero byte (RFC 5280 §4.1.2.2). */
export function positiveSerial(): Asn1js.Integer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return new asn1js.Integer({ valueHex: ab(b) });
}

/** A critical keyUsage extension with the given bits (first byte of the BIT STRING) and unused-bit count. */
export function keyUsageExtension(bits: number, unused: number): Pkijs.Extension {
  const bs = new asn1js.BitString({ valueHex: ab(Uint8Array.from([bits])), unusedBits: unused });
  return new pkijs.Extension({ extnID: OID_KEY_USAGE, critical: true, extnValue: bs.toBER(false), parsedValue: bs });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdOf(spki: Pkijs.PublicKeyInfo): Uint8Array {
  return u8(createHash('sha1').update(u8(spki.subjectPublicKey.valueBlock.valueHexView)).digest());
}

/** A new ECDSA P-256 private key. */
export function newP256Key(): KeyObject {
  return generateKeyPair('es256').privateKey;
}

/** An ECDSA P-256 private key as a WebCrypto signing key (what pkijs signs with). */
export async function p256SigningKey(priv: KeyObject): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])) as unknown as CryptoKey;
}

/**
 * Verification of any artifact Evident knows (public); answers the report model (same as `evident verify --json`).
 *
 *   POST /v1/verify   {artifact | artifact_base64, format?, mode?, keys?, log_key?, artifacts?, trusted_root?,
 *                      certificate_identity[_regexp]?, certificate_oidc_issuer?} → 200 report (also when invalid)
 *
 * `artifacts`, `trusted_root` and the certificate_* fields are the CLI's --artifact, --trusted-root and
 * --certificate-* (Sigstore bundles, DSSE/in-toto subjects); the trusted root is inline JSON, never a server path.
 * `entry_base64` / `leaf_hash` are --entry / --leaf-hash for tlog-proofs without an extra line (else ENTRY_MISSING).
 */
import type { FastifyInstance } from 'fastify';
import type { EvidentError } from '../../kernel/errors.ts';
import { parseBase64 } from '../../kernel/encoding.ts';
import { VKEY_RE } from '../../kernel/note.ts';
import { bytesInput, verifyAny } from '../../verify/detect.ts';
import type { RouteContext } from '../context.ts';

export interface VerifyBody {
  artifact?: unknown;
  artifact_base64?: string;
  format?: string;
  mode?: 'strict' | 'compat';
  keys?: string[];
  log_key?: string;
  entry_base64?: string;
  leaf_hash?: string;
  artifacts?: Array<{ name?: string; base64: string }>;
  trusted_root?: Record<string, unknown>;
  certificate_identity?: string;
  certificate_identity_regexp?: string;
  certificate_oidc_issuer?: string;
}

export const verifyBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    artifact: { description: 'a JSON artifact (DSSE envelope, receipt, packet, proof…)' },
    artifact_base64: { type: 'string', description: 'any artifact as standard base64 bytes (signed notes, tlog-proofs, containers)' },
    format: { type: 'string', maxLength: 64 },
    mode: { type: 'string', enum: ['strict', 'compat'] },
    keys: {
      type: 'array',
      maxItems: 16,
      items: { type: 'string', maxLength: 65536 },
      description: 'pinned public keys: PEM, JWK JSON or C2SP vkey',
    },
    log_key: { type: 'string', maxLength: 1024, description: "pinned transparency-log key (C2SP vkey); default: this service's log key" },
    entry_base64: { type: 'string', description: 'tlog-proof: the logged entry bytes, standard base64 (CLI --entry); needed when the proof has no extra line' },
    leaf_hash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'tlog-proof: the RFC 6962 leaf hash of the logged entry (CLI --leaf-hash)' },
    artifacts: {
      type: 'array',
      maxItems: 16,
      description: 'files the artifact covers (CLI --artifact): the signed blob of a Sigstore message signature, or DSSE/in-toto subjects',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['base64'],
        properties: { name: { type: 'string', maxLength: 256 }, base64: { type: 'string', description: 'file content, standard base64' } },
      },
    },
    trusted_root: { type: 'object', description: 'Sigstore TrustedRoot JSON (CLI --trusted-root); never fetched' },
    certificate_identity: { type: 'string', maxLength: 4096, description: 'Sigstore: expected certificate SAN, exact' },
    certificate_identity_regexp: { type: 'string', maxLength: 4096, description: 'Sigstore: expected certificate SAN, regular expression' },
    certificate_oidc_issuer: { type: 'string', maxLength: 4096, description: 'Sigstore: expected OIDC issuer' },
  },
} as const;

export async function registerVerify(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, schemas, metrics } = ctx;

  app.post<{ Body: VerifyBody }>(
    '/v1/verify',
    { schema: { body: verifyBodySchema, response: { 200: schemas.report, 400: schemas.error } } },
    async (req, reply) => {
      const b = req.body;
      if ((b.artifact === undefined) === (b.artifact_base64 === undefined)) return fail(reply, 400, 'INPUT_INVALID', 'give exactly one of "artifact" or "artifact_base64"');
      if (b.log_key !== undefined && !VKEY_RE.test(b.log_key)) return fail(reply, 400, 'KEY_INVALID', 'log_key must be a C2SP vkey');
      for (const k of b.keys ?? []) {
        // Never let a caller name a file on this server: inline keys only.
        if (!(k.includes('-----BEGIN ') || k.trimStart().startsWith('{') || VKEY_RE.test(k))) return fail(reply, 400, 'KEY_INVALID', 'keys must be inline PEM, JWK JSON or a C2SP vkey');
      }
      let bytes: Uint8Array;
      let artifacts: Array<{ name: string; bytes: Uint8Array }> | undefined;
      let entryBytes: Uint8Array | undefined;
      try {
        bytes = b.artifact_base64 !== undefined ? parseBase64(b.artifact_base64) : Buffer.from(JSON.stringify(b.artifact));
        artifacts = b.artifacts?.map((a, i) => ({ name: a.name ?? `artifact[${i}]`, bytes: parseBase64(a.base64) }));
        if (b.entry_base64 !== undefined) entryBytes = parseBase64(b.entry_base64);
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
      const report = await verifyAny(
        bytesInput(bytes),
        {
          mode: b.mode ?? 'strict',
          keys: b.keys ?? [],
          logKey: b.log_key ?? opts.logVkey,
          entryBytes,
          leafHash: b.leaf_hash,
          artifacts,
          trustedRoot: b.trusted_root,
          certificateIdentity: b.certificate_identity,
          certificateIdentityRegexp: b.certificate_identity_regexp,
          certificateOidcIssuer: b.certificate_oidc_issuer,
        },
        b.format,
      );
      const j = report.toJSON();
      metrics.observeVerify(j.format, j.valid, j.exitCode);
      return j;
    },
  );
}

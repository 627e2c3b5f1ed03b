/**
 * Receipts: sign, log, answer with the tlog-proof of the checkpoint that covers it.
 *
 *   POST /v1/receipts        issue    ../receipt-request.ts body → 201 receipt (400 / 422 refusals, 503 no key)
 *   GET  /v1/receipts/{id}   public   a receipt by id, with a proof against the latest checkpoint (404)
 *   GET  /v1/receipts/{id}/sigstore   public   an evident.receipt/v2 receipt as a Sigstore bundle v0.3 (404; 409 for v1)
 *
 * Formats eli and wcp hash Python json.dumps forms (`1.0` ≠ `1`): POST bodies are parsed losslessly
 * (../lossless-body.ts).
 */
import type { FastifyInstance } from 'fastify';
import { EvidentError } from '../../kernel/errors.ts';
import { issueReceipt, receiptAt, RECEIPT_FORMAT } from '../../receipts/receipt.ts';
import { ReceiptIndex } from '../receipt-index.ts';
import { receiptBodySchema, toReceiptRequest, checkReceiptPolicy, refusalStatus, signableRequest, type ReceiptBody, type ServiceReceiptRequest } from '../receipt-request.ts';
import { WcpStore } from '../wcp-store.ts';
import { useLosslessJsonBodies, losslessBody } from '../lossless-body.ts';
import { assertExactNumbers } from '../../kernel/exact-numbers.ts';
import type { RouteContext } from '../context.ts';
import { RECEIPT_FORMAT_V2 } from '../../receipts/receipt-v2.ts';
import { SIGSTORE_BUNDLE_V03 } from '../../receipts/sigstore-export.ts';
import { ReceiptsV2 } from '../receipts-v2.ts';

export const receiptSchema = {
  type: 'object',
  required: ['format', 'id', 'envelope', 'log', 'tlog_proof'],
  properties: {
    format: { type: 'string', enum: [RECEIPT_FORMAT, RECEIPT_FORMAT_V2] },
    id: { type: 'string' },
    envelope: { type: 'object', additionalProperties: true },
    log: { type: 'object', properties: { origin: { type: 'string' }, index: { type: 'integer' }, key_id: { type: 'string', description: 'v2: base64 C2SP log key id (Sigstore logId)' } } },
    tlog_proof: { type: 'string' },
    rfc3161_timestamp: { type: 'string', description: 'v2: base64 RFC 3161 TimeStampResp over the signature' },
  },
} as const;

const receiptIdParams = { type: 'object', properties: { id: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } } } as const;

export async function registerReceipts(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail, requireScope, bump, limits } = ctx;
  const err = ctx.schemas.error;
  const receipts = await ReceiptIndex.open(opts.db);
  const wcpBans = await WcpStore.open(opts.db);
  const v2 = await ReceiptsV2.open(opts.db, opts);

  await app.register(async (scope) => {
    useLosslessJsonBodies(scope, limits);
    scope.post<{ Body: ReceiptBody; Querystring: { cosigned?: string } }>(
      '/v1/receipts',
      {
        preHandler: requireScope('issue'),
        schema: {
          body: receiptBodySchema,
          // ?cosigned=N: answer once a checkpoint covering the entry carries N witness cosignatures (504 after
          // the wait; the receipt is logged either way); ?cosigned= alone: the service's --witness-quorum
          querystring: { type: 'object', additionalProperties: false, properties: { cosigned: { type: 'string', pattern: '^(|[0-9]{1,3})$' } } },
          response: { 201: receiptSchema, 400: err, 401: err, 403: err, 413: err, 422: err, 429: err, 503: err, 504: err },
        },
      },
      async (req, reply) => {
        const cq = req.query.cosigned;
        const want = cq === undefined ? 0 : cq === '' ? (opts.witnessQuorum ?? 0) : Number(cq);
        const configured = opts.witnesses?.witnesses.length ?? 0;
        if (want > configured) return fail(reply, 400, 'INPUT_INVALID', `cosigned=${want}: this service asks ${configured} witness(es)`);
        let r: ServiceReceiptRequest;
        try {
          // a number a double cannot carry would change under the canonical form: refused, never altered (eli and
          // wcp hash their Python json.dumps forms from the lossless tree, so their spelling is kept as sent)
          if (req.body.format !== 'eli' && req.body.format !== 'wcp') assertExactNumbers(losslessBody(req));
          r = toReceiptRequest(req.body, losslessBody(req));
        } catch (e) {
          return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
        }
        const active = opts.keys.find((k) => k.status === 'active');
        if (!active) return fail(reply, 503, 'NO_ACTIVE_KEY', 'the service has no active signing key');
        let receipt;
        try {
          await checkReceiptPolicy(r, wcpBans);
          const key = { privateKey: active.key, kid: active.kid };
          receipt = v2.issuing ? await v2.issue(key, signableRequest(r, active.kid, limits.maxReceiptPayload)) : await issueReceipt(opts.log, key, signableRequest(r, active.kid, limits.maxReceiptPayload));
        } catch (e) {
          // an entry bundle carries at most 65,535 bytes per entry (C2SP tlog-tiles): refused, never stored
          if ((e as EvidentError).code === 'ENTRY_TOO_LARGE') return fail(reply, 413, 'ENTRY_TOO_LARGE', (e as Error).message);
          const status = e instanceof EvidentError ? refusalStatus(e.code) : undefined;
          if (status) return fail(reply, status, (e as EvidentError).code, (e as Error).message);
          throw e;
        }
        await receipts.put(receipt.id, receipt.log.index, r.format);
        bump('evident_receipts_issued_total');
        if (want > 0) {
          const size = await opts.witnesses!.waitFor(receipt.log.index, want, opts.witnessWaitMs ?? 10_000);
          if (size === undefined) {
            return fail(reply, 504, 'WITNESS_QUORUM', `receipt ${receipt.id} is logged at index ${receipt.log.index}, but no checkpoint covering it had ${want} cosignature(s) in time; GET /v1/receipts/${receipt.id} later`);
          }
          receipt = receipt.format === RECEIPT_FORMAT_V2 ? (await v2.at(receipt.id, receipt.log.index, (await opts.log.getEntry(receipt.log.index))!, size))! : await receiptAt(opts.log, receipt.envelope, receipt.log.index, size);
        } else opts.witnesses?.nudge();
        return reply.code(201).send(receipt);
      },
    );
  });

  app.get<{ Params: { id: string } }>(
    '/v1/receipts/:id',
    { schema: { params: receiptIdParams, response: { 200: receiptSchema, 404: err } } },
    async (req, reply) => {
      const index = await receipts.get(req.params.id);
      const entry = index === undefined ? undefined : await opts.log.getEntry(index);
      if (index === undefined || !entry) return fail(reply, 404, 'RECEIPT_NOT_FOUND', `no receipt ${req.params.id}`);
      return (await v2.at(req.params.id, index, entry)) ?? receiptAt(opts.log, JSON.parse(Buffer.from(entry).toString('utf8')), index);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/receipts/:id/sigstore',
    { schema: { params: receiptIdParams, response: { 200: { type: 'object', additionalProperties: true }, 404: err, 409: err } } },
    async (req, reply) => {
      const index = await receipts.get(req.params.id);
      const entry = index === undefined ? undefined : await opts.log.getEntry(index);
      if (index === undefined || !entry) return fail(reply, 404, 'RECEIPT_NOT_FOUND', `no receipt ${req.params.id}`);
      const receipt = await v2.at(req.params.id, index, entry);
      if (!receipt) return fail(reply, 409, 'RECEIPT_NOT_EXPORTABLE', `${req.params.id} is an evident.receipt/v1 receipt: its log entry is not a Rekor entry body, so no Sigstore bundle exists for it`);
      return reply.type(SIGSTORE_BUNDLE_V03).send(JSON.stringify(v2.bundle(receipt)));
    },
  );
}

/**
 * The transparency log's read API (public; cacheable where immutable):
 *
 *   GET /checkpoint                       the latest signed checkpoint (C2SP signed note, text/plain)
 *   GET /v1/log                           {origin, vkey, size, sequencer}
 *   GET /v1/log/inclusion?index=&size=    RFC 6962 inclusion proof (base64 hashes)
 *   GET /v1/log/consistency?from=&to=     RFC 6962 consistency proof
 *   GET /tile/{L}/{N}[.p/{W}]             C2SP tlog-tiles hash tiles (application/octet-stream, immutable)
 *   GET /tile/entries/{N}[.p/{W}]         entry bundles
 */
import type { FastifyInstance } from 'fastify';
import { EvidentError } from '../../kernel/errors.ts';
import { toBase64 } from '../../kernel/encoding.ts';
import { ENTRY_MAX_BYTES, parseTileIndexPath, TILE_WIDTH } from '../../log/tiles.ts';
import type { RouteContext } from '../context.ts';

// query values arrive as text; no coercion: an exact decimal pattern instead
const intQ = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } as const;
const proofSchema = { type: 'object', properties: { size: { type: 'integer' }, proof: { type: 'array', items: { type: 'string' } } } } as const;
const logInfoOut = {
  type: 'object',
  properties: { origin: { type: 'string' }, vkey: { type: 'string' }, size: { type: 'integer' }, sequencer: { type: 'boolean' } },
} as const;
const inclusionQuery = { type: 'object', required: ['index'], additionalProperties: false, properties: { index: intQ, size: intQ } } as const;
const consistencyQuery = { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: intQ, to: intQ } } as const;

const TILE_PATH = /^(?:(entries)|(\d{1,2}))\/(.+?)(?:\.p\/(\d{1,3}))?$/;

export async function registerLog(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { opts, fail } = ctx;
  const err = ctx.schemas.error;

  app.get('/checkpoint', async (_req, reply) => {
    reply.header('cache-control', 'no-cache');
    return reply.type('text/plain; charset=utf-8').send(await opts.log.latestCheckpoint());
  });

  // sequencer: whether this instance commits the log (PostgreSQL: holds the sequencer role) or forwards its appends
  app.get('/v1/log', { schema: { response: { 200: logInfoOut } } }, async () => ({
    origin: opts.log.origin,
    vkey: opts.logVkey,
    size: await opts.log.size(),
    sequencer: opts.log.isSequencer(),
  }));

  app.get<{ Querystring: { index: string; size?: string } }>(
    '/v1/log/inclusion',
    { schema: { querystring: inclusionQuery, response: { 200: proofSchema, 400: err } } },
    async (req, reply) => {
      const size = req.query.size === undefined ? await opts.log.size() : Number(req.query.size);
      const index = Number(req.query.index);
      if (index >= size) return fail(reply, 400, 'INPUT_INVALID', `index ${index} is not below size ${size}`);
      try {
        return { size, proof: (await opts.log.inclusionProof(index, size)).map(toBase64) };
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
    },
  );

  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/log/consistency',
    { schema: { querystring: consistencyQuery, response: { 200: proofSchema, 400: err } } },
    async (req, reply) => {
      const from = Number(req.query.from);
      const to = Number(req.query.to);
      if (from > to) return fail(reply, 400, 'INPUT_INVALID', '"from" must not exceed "to"');
      try {
        return { size: to, proof: (await opts.log.consistencyProof(from, to)).map(toBase64) };
      } catch (e) {
        return fail(reply, 400, (e as EvidentError).code ?? 'INPUT_INVALID', (e as Error).message);
      }
    },
  );

  app.get<{ Params: { '*': string } }>('/tile/*', async (req, reply) => {
    const m = TILE_PATH.exec(req.params['*']);
    let n: number;
    try {
      if (!m) throw new EvidentError('INPUT_INVALID', 'not a tile path');
      n = parseTileIndexPath(m[3]!);
    } catch (e) {
      return fail(reply, 404, 'TILE_NOT_FOUND', (e as Error).message);
    }
    const width = m[4] === undefined ? TILE_WIDTH : Number(m[4]);
    const badPartial = m[4] !== undefined && (width === TILE_WIDTH || m[4] !== String(width));
    if (width < 1 || width > TILE_WIDTH || badPartial) return fail(reply, 404, 'TILE_NOT_FOUND', 'invalid partial width');
    const size = await opts.log.size();
    const level = m[1] ? 0 : Number(m[2]);
    if (level > 63) return fail(reply, 404, 'TILE_NOT_FOUND', 'invalid level');
    // number of hashes (or entries) at this tile level
    const count = Math.floor(size / TILE_WIDTH ** level);
    const first = n * TILE_WIDTH;
    if (first + width > count) return fail(reply, 404, 'TILE_NOT_FOUND', 'tile not (yet) available at this width');
    // full and partial tiles never change once served: cacheable for a year (only when answered 200)
    const immutable = () => reply.header('cache-control', 'public, max-age=31536000, immutable');
    if (m[1]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < width; i++) {
        const e = await opts.log.getEntry(first + i);
        if (!e) return fail(reply, 503, 'TILE_UNAVAILABLE', `entry ${first + i} is not readable yet`);
        // appends refuse such entries (ENTRY_TOO_LARGE); a log written before that cannot serve this bundle
        if (e.length > ENTRY_MAX_BYTES) return fail(reply, 404, 'ENTRY_TOO_LARGE', `entry ${first + i} (${e.length} bytes) does not fit an entry bundle (at most ${ENTRY_MAX_BYTES} bytes)`);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(e.length);
        parts.push(len, e);
      }
      immutable();
      return reply.type('application/octet-stream').send(Buffer.concat(parts));
    }
    const ids = Array.from({ length: width }, (_, i) => ({ level: level * 8, index: first + i }));
    const nodes = await opts.log.storage.getNodes(ids);
    const out = Buffer.alloc(width * 32);
    for (let i = 0; i < ids.length; i++) {
      const h = nodes.get(`${ids[i]!.level}/${ids[i]!.index}`);
      if (!h) return fail(reply, 503, 'TILE_UNAVAILABLE', `node ${ids[i]!.level}/${ids[i]!.index} is not readable yet`);
      out.set(h, i * 32);
    }
    immutable();
    return reply.type('application/octet-stream').send(out);
  });
}

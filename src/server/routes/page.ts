/**
 * The offline verifier page (public):
 *
 *   GET /verify   the same self-contained HTML file `evident verifier-page` writes (dist/page/verify.html):
 *                 it verifies in the browser with the CLI's code and makes no request back to this service
 *                 (its Content-Security-Policy, sent as a header too, allows no connection at all)
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.ts';
import { verifierPage } from '../../page/asset.ts';

export async function registerPage(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { fail } = ctx;
  let page: { html: Buffer; etag: string; csp: string } | undefined;
  app.get('/verify', { schema: { summary: 'The offline verifier page (one self-contained HTML file)', produces: ['text/html'] } }, async (req, reply) => {
    try {
      if (!page) {
        const html = verifierPage();
        const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html.toString('utf8'))?.[1] ?? "default-src 'none'";
        page = { html, csp, etag: `"${createHash('sha256').update(html).digest('base64url')}"` };
      }
    } catch (e) {
      return fail(reply, 503, 'PAGE_NOT_BUILT', (e as Error).message);
    }
    reply
      .header('content-security-policy', page.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'public, max-age=300')
      .header('etag', page.etag);
    if (req.headers['if-none-match'] === page.etag) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(page.html);
  });
}

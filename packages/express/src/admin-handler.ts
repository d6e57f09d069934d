// The admin endpoint the `meterkit --url` CLI talks to, for apps on the memory store: mount it under a path of your choice.
import { type AdminApiOptions, createAdminApi } from '@meterkit/core/ops';
import type { Request, RequestHandler } from 'express';
import { type EngineHolder, engineOf } from './health-handler.js';

/** Largest request body the admin endpoint reads (a requeue list of ids). */
const MAX_BODY_BYTES = 1_000_000;

/** The JSON body, whether or not the app parses JSON itself. */
async function bodyOf(req: Request): Promise<unknown> {
  if (req.body !== undefined) return req.body;
  if (req.method === 'GET') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length === 0 ? undefined : JSON.parse(text);
}

/**
 * Operator routes for `npx meterkit --url <app>/<mount> --token …`: `GET /status`, `GET /dead-letters`,
 * `POST /dead-letters/requeue`, `GET /audit`, `POST /flush`. Every request must carry
 * `Authorization: Bearer <token>`; keep the mount off the public internet all the same.
 *
 * @example
 * ```ts
 * app.use('/_meterkit', meteringAdmin(metering, { token: process.env.METERKIT_ADMIN_TOKEN! }));
 * ```
 * @throws {MeteringConfigurationError} when `token` is missing or shorter than 24 characters.
 */
export function meteringAdmin(holder: EngineHolder, options: AdminApiOptions): RequestHandler {
  const api = createAdminApi(engineOf(holder), options);
  return (req, res, next) => {
    (async () => {
      let body: unknown;
      try {
        body = await bodyOf(req);
      } catch (error) {
        res.status(400).json({ error: `the body must be JSON: ${(error as Error).message}` });
        return;
      }
      const answer = await api({
        method: req.method,
        path: req.path,
        authorization: req.headers.authorization,
        query: req.query as Record<string, unknown>,
        body,
      });
      res.status(answer.status).json(answer.body);
    })().catch(next);
  };
}

// The operator API a running app may expose (memory store): status, dead letters, requeue, audit, flush; token-checked.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MeteringEngine } from '../engine/metering-engine.js';
import { MeteringConfigurationError } from '../model/errors.js';
import { auditRow, deadLetterRow } from './audit-rows.js';
import { requeueDeadLetters } from './requeue.js';
import { SinkWatch } from './sink-watch.js';
import { readStatus } from './status.js';

/** Options of {@link createAdminApi}. */
export interface AdminApiOptions {
  /** A secret of at least 24 characters the CLI sends as `Authorization: Bearer <token>`. Keep it out of source code. */
  token: string;
  /** Refuse requeueing records whose window closes sooner than this. @default 900_000 (15 min) */
  minWindowLeftMillis?: number;
}

/** A request as any HTTP framework hands it over. */
export interface AdminRequest {
  readonly method: string;
  /** The path below the mount point, e.g. `/status`. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Answers one admin request. Never throws: failures are a 500 with the message. */
export type AdminApi = (request: AdminRequest) => Promise<AdminResponse>;

const MIN_TOKEN_LENGTH = 24;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function limitOf(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/**
 * The admin endpoint's logic, framework-neutral (create it when the app starts: `status` reports the sink's calls
 * from then on): `@meterkit/express` and `@meterkit/nestjs` mount it. Routes:
 * `GET /status`, `GET /dead-letters`, `POST /dead-letters/requeue` (`{ ids?: string[], minWindowLeftMillis?: number }`), `GET /audit`, `POST /flush`.
 * @throws {MeteringConfigurationError} when the token is missing or shorter than 24 characters.
 */
export function createAdminApi(engine: MeteringEngine, options: AdminApiOptions): AdminApi {
  if (typeof options?.token !== 'string' || options.token.length < MIN_TOKEN_LENGTH) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'token',
      `The admin endpoint's \`token\` must be a secret string of at least ${MIN_TOKEN_LENGTH} characters (e.g. from an environment variable).`,
    );
  }
  const expected = digest(`Bearer ${options.token}`);
  const o = engine.options;
  // Follows the sink's calls from now on, so `status` can say how the last one went.
  const sink = new SinkWatch(engine.events, () => o.clock.now());
  return async (request) => {
    // Compare digests in constant time: the length of the header tells an attacker nothing either.
    if (request.authorization === undefined || !timingSafeEqual(digest(request.authorization), expected)) {
      return { status: 401, body: { error: 'a valid `Authorization: Bearer <token>` header is required' } };
    }
    try {
      const route = `${request.method.toUpperCase()} ${request.path.replace(/\/+$/, '') || '/'}`;
      const now = o.clock.now();
      switch (route) {
        case 'GET /status':
          return {
            status: 200,
            body: { ...(await readStatus(o.store, now, o)), sink: sink.state() },
          };
        case 'GET /dead-letters': {
          const letters = await o.store.deadLetters(limitOf(request.query.limit, 100_000));
          return { status: 200, body: letters.map(deadLetterRow) };
        }
        case 'POST /dead-letters/requeue': {
          const { ids, minWindowLeftMillis } = (request.body ?? {}) as {
            ids?: unknown;
            minWindowLeftMillis?: unknown;
          };
          if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) {
            return { status: 400, body: { error: '`ids` must be an array of record ids' } };
          }
          const result = await requeueDeadLetters(o.store, now, {
            serviceWindowMillis: o.serviceWindowMillis,
            monthEndCutoffHourUtc: o.monthEndCutoffHourUtc,
            // The caller may ask for a wider margin than the app's, never a narrower one.
            minWindowLeftMillis: Math.max(
              options.minWindowLeftMillis ?? 900_000,
              typeof minWindowLeftMillis === 'number' && Number.isFinite(minWindowLeftMillis)
                ? minWindowLeftMillis
                : 0,
            ),
            ...(ids === undefined ? {} : { ids: ids as string[] }),
          });
          return {
            status: 200,
            body: {
              moved: result.moved,
              requeued: result.replayable.map(deadLetterRow),
              refused: result.refused.map((r) => ({ ...deadLetterRow(r.letter), Why: r.why })),
            },
          };
        }
        case 'GET /audit': {
          const entries = await o.store.auditLog(limitOf(request.query.limit, 100_000));
          return { status: 200, body: entries.map(auditRow) };
        }
        case 'POST /flush': {
          const report = await engine.forceFlush();
          return { status: 200, body: report };
        }
        default:
          return { status: 404, body: { error: `no admin route ${route}` } };
      }
    } catch (error) {
      return { status: 500, body: { error: error instanceof Error ? error.message : String(error) } };
    }
  };
}

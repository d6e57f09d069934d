import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

/** @internal Told once its response has finished. */
export interface FinishWatcher {
  finished(statusCode: number): void;
}

/** What Node's HTTP server publishes when one of its responses has finished. */
interface ResponseFinishMessage {
  readonly response: ServerResponse;
}

/** The raw Node response (Express: the response itself; Fastify: `reply.raw`). */
export interface RawResponse {
  readonly statusCode: number;
  readonly socket?: object | null;
  on(event: 'finish', listener: (this: RawResponse) => void): unknown;
}

const RESPONSE_FINISH = 'http.server.response.finish';

/**
 * The watcher of each watched response. Entries leave with their response (aborted ones too), and a response is
 * watched at most once, which is how a second `MeteringInterceptor` on the same request knows to step aside.
 */
const watchers = new WeakMap<object, FinishWatcher>();
let holders = 0;

function responseFinished(message: unknown): void {
  const response = (message as ResponseFinishMessage).response;
  watchers.get(response)?.finished(response.statusCode);
}

function finishListener(this: RawResponse): void {
  watchers.get(this)?.finished(this.statusCode);
}

/**
 * Whether Node's own HTTP(S) server made this response: only those are published on `http.server.response.finish`.
 * An injected test response (Fastify's `inject()`) or a serverless adapter's response has no server socket.
 */
function announcedOnChannel(raw: RawResponse): boolean {
  // `server` is set by Node's HTTP server on the sockets it accepts; it is not part of the Socket type.
  const socket = raw instanceof ServerResponse ? (raw.socket as { server?: unknown } | null) : null;
  return holders > 0 && socket?.server instanceof NetServer;
}

/** The prototype of responses that are their own raw response (Express's), once one has been seen. */
let rawPrototype: object | null = null;

/**
 * @internal The raw Node response behind what Nest hands an interceptor: Fastify's reply keeps it in `raw`, Express's
 * response is it. Express responses are recognised by their prototype after the first one, because looking up a
 * missing property on them costs a quarter of a microsecond (their prototype is swapped in per request).
 */
export function rawResponseOf(response: { readonly raw?: RawResponse } & RawResponse): RawResponse {
  const prototype: unknown = Object.getPrototypeOf(response);
  if (prototype === rawPrototype) return response;
  const raw = response.raw;
  if (raw !== undefined) return raw;
  rawPrototype = prototype as object | null;
  return response;
}

/** @internal Whether a watcher already waits for this response. */
export function isWatched(raw: RawResponse): boolean {
  return watchers.has(raw);
}

/**
 * @internal Calls `watcher.finished(statusCode)` once `raw` has finished, i.e. once the whole response has been handed
 * to the OS; never for a response aborted before that.
 *
 * Why a diagnostics channel rather than `raw.on('finish')`: Node's server already listens for `finish` on every
 * response, so a second listener turns the listener slot into an array that is copied again on every emit, and
 * Express swaps the prototype of each response, which keeps V8 from caching property access on it. Node's server
 * publishes each finished response once; a WeakMap lookup finds its watcher without touching the response.
 */
export function watchFinish(raw: RawResponse, watcher: FinishWatcher): void {
  watchers.set(raw, watcher);
  if (!announcedOnChannel(raw)) raw.on('finish', finishListener);
}

/**
 * @internal Subscribes to the server's `response.finish` channel while at least one app meters. Returns the release
 * function (idempotent). Release only once the app's server has closed, so no watched response is left waiting.
 */
export function holdFinishChannel(): () => void {
  if (holders++ === 0) subscribe(RESPONSE_FINISH, responseFinished);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) unsubscribe(RESPONSE_FINISH, responseFinished);
  };
}

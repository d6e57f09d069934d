/** Knows when a Node HTTP response has finished, and whether it reached the client, without a listener per response. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * Told once its response has finished: `finished()` when the whole response was handed to the OS on a connection that
 * is still open (delivered, as far as Node can know), `undelivered()` when Node reported it finished although its
 * connection had been destroyed with the body still unsent (the client went away mid-body or never read).
 */
export interface FinishWatcher {
  finished(statusCode: number): void;
  /** The response "finished" on a destroyed connection: count nothing. */
  undelivered?(statusCode: number): void;
}

/** A Node HTTP response, or anything that emits `finish` and has a status code (a test double, Fastify's `raw`). */
export interface RawResponse {
  readonly statusCode: number;
  /** Node's response keeps its request, whose socket tells whether the connection was destroyed. */
  readonly req?: RawRequest;
  on(event: 'finish', listener: (this: RawResponse) => void): unknown;
}

/** The request of a response, when the caller has it at hand (an Express middleware does). */
export interface RawRequest {
  readonly socket?: { readonly destroyed?: boolean } | null;
}

/** What Node's HTTP server publishes when one of its responses has finished. */
interface ResponseFinishMessage {
  readonly response: RawResponse;
  readonly socket: { readonly destroyed?: boolean };
}

/** The responses watched on one connection of Node's server. */
interface Connection {
  /** The response being watched (null: none), and its watcher. */
  response: object | null;
  watcher: FinishWatcher | undefined;
  /** Responses watched while an earlier one was still being sent on this connection (pipelining); rare. */
  queued: Map<object, FinishWatcher> | undefined;
}

const RESPONSE_FINISH = 'http.server.response.finish';

/**
 * Watched responses of Node's HTTP server, by their connection (socket). An HTTP/1 connection serves one response at
 * a time, so one slot per connection holds the common case, and a request costs a lookup on an object whose identity
 * hash already exists: keying a WeakMap by each new response costs V8 a runtime call to give it one (see
 * bench/README.md).
 */
const connections = new WeakMap<object, Connection>();
/**
 * Watched responses the channel will not announce: made by no Node server, or watched while nobody held the channel.
 * Each has a `finish` listener. Entries leave when told, or with their response.
 */
const others = new WeakMap<object, FinishWatcher>();
let holders = 0;

/** The last prototype found to be a `ServerResponse` (Express's per-app response object, or Node's own). */
let serverResponsePrototype: object | null = null;
/** The last socket owner found to be a Node `net.Server` (an HTTP or HTTPS server). */
let lastServer: unknown = null;

/**
 * The connection of a response that Node's HTTP(S) server made, and so will publish on `http.server.response.finish`;
 * undefined for any other response (an injected test response, a serverless adapter's) or while nobody holds the
 * channel. Read from the request's socket, which is there from the start: the response's own socket is still unset
 * while an earlier response on the same connection is being sent. The last prototype and server that passed are
 * remembered, because `instanceof` walks prototype chains that are rarely in cache on a busy server.
 */
function serverSocketOf(raw: RawResponse, request: RawRequest | undefined): object | undefined {
  if (holders === 0) return undefined;
  const prototype: unknown = Object.getPrototypeOf(raw);
  if (prototype !== serverResponsePrototype) {
    if (!(raw instanceof ServerResponse)) return undefined;
    serverResponsePrototype = prototype as object;
  }
  // Every read on an Express request or response is slow (their prototype is swapped per request): the request
  // handed in saves reading `raw.req`.
  const socket = (request?.socket ?? (raw as ServerResponse).req?.socket ?? (raw as ServerResponse).socket) as
    | { server?: unknown }
    | null
    | undefined;
  if (socket == null) return undefined;
  const server = socket.server;
  if (server !== lastServer) {
    if (!(server instanceof NetServer)) return undefined;
    lastServer = server;
  }
  return socket;
}

/**
 * Tells `watcher` how its response ended. Node emits `finish` (and publishes it on the channel) also when the
 * connection was destroyed with part of the body still queued: the pending writes fail and Node's `onFinish` emits
 * `finish` anyway (unless the socket recorded an error first, which a reset during a write does not always do). By
 * then the socket is `destroyed`, which it never is when the last write succeeded: that tells the two apart. A body
 * that fitted entirely into the kernel's socket buffers counts as delivered: Node cannot see past them. (Node 24
 * checks the socket's error before emitting `finish`, so there an undelivered response is never reported at all.)
 */
function tell(watcher: FinishWatcher, statusCode: number, socket: RawRequest['socket']): void {
  if (socket?.destroyed === true) watcher.undelivered?.(statusCode);
  else watcher.finished(statusCode);
}

/**
 * Runs for every response of every Node HTTP server in the process, watched or not, so an unwatched one costs one
 * lookup by its socket. Each watcher is forgotten before it is told: told once.
 */
function responseFinished(message: unknown): void {
  const { response, socket } = message as ResponseFinishMessage;
  const connection = connections.get(socket);
  if (connection === undefined) return;
  if (connection.response === response) {
    const watcher = connection.watcher as FinishWatcher;
    connection.response = null;
    connection.watcher = undefined;
    tell(watcher, response.statusCode, socket);
    return;
  }
  const watcher = connection.queued?.get(response);
  if (watcher === undefined) return;
  connection.queued?.delete(response);
  tell(watcher, response.statusCode, socket);
}

/** For a response the channel does not announce. */
function finishListener(this: RawResponse): void {
  const watcher = others.get(this);
  if (watcher === undefined) return;
  others.delete(this);
  // Node's server detaches the response's socket before this listener runs; the request keeps it.
  tell(watcher, this.statusCode, this.req?.socket ?? (this as { socket?: RawRequest['socket'] }).socket);
}

/** The watcher waiting for `raw` to finish, if any. Pass `request` (the request of `raw`) when you have it. */
export function watcherOf(raw: RawResponse, request?: RawRequest): FinishWatcher | undefined {
  const socket = serverSocketOf(raw, request);
  if (socket !== undefined) {
    const connection = connections.get(socket);
    if (connection === undefined) return undefined;
    return connection.response === raw ? connection.watcher : connection.queued?.get(raw);
  }
  return others.get(raw);
}

/** Whether a watcher waits for `raw` to finish. */
export function isWatched(raw: RawResponse, request?: RawRequest): boolean {
  return watcherOf(raw, request) !== undefined;
}

/**
 * Calls `watcher.finished(statusCode)` once `raw` has finished on an open connection, or `watcher.undelivered()` when
 * Node reports it finished on a destroyed one; nothing for a response aborted before that, and at most once. Replaces the watcher `raw` had, if any: check {@link watcherOf} first. Pass `request`
 * (the request of `raw`) when you have it.
 *
 * Why a diagnostics channel rather than `raw.on('finish')`: Node's server already listens for `finish` on every
 * response, so a second listener turns the listener slot into an array that is copied again on every emit, and
 * Express swaps the prototype of each response, which keeps V8 from caching property access on it. Node's server
 * publishes each finished response once, with its socket. Responses the channel will not announce (no Node server
 * behind them, or no {@link holdFinishChannel} holder) get a `finish` listener instead.
 */
export function watchFinish(raw: RawResponse, watcher: FinishWatcher, request?: RawRequest): void {
  const socket = serverSocketOf(raw, request);
  if (socket !== undefined) {
    const connection = connections.get(socket);
    if (connection === undefined) {
      connections.set(socket, { response: raw, watcher, queued: undefined });
      return;
    }
    if (connection.response === null || connection.response === raw) {
      connection.response = raw;
      connection.watcher = watcher;
      return;
    }
    // The connection is still sending an earlier response: the channel announces this one later, on its own.
    connection.queued ??= new Map();
    connection.queued.set(raw, watcher);
    return;
  }
  const watched = others.has(raw);
  others.set(raw, watcher);
  if (!watched) raw.on('finish', finishListener);
}

/**
 * Subscribes to the server's `response.finish` channel while at least one holder needs it. Returns the release
 * function (idempotent). Release only once the server has closed: a response watched through the channel and still
 * running would otherwise never be told.
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

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What Node's HTTP server publishes on these channels. */
interface HttpServerMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';

/**
 * Responses of Node's own HTTP server, seen when their request started: only these are announced on
 * `http.server.response.finish`. Anything else (a serverless adapter's response, an injected test response) gets an
 * ordinary `finish` listener instead.
 */
const announced = new WeakSet<object>();
/** Told when its response has finished. */
export interface FinishHandler {
  finished(res: ServerResponse): void;
}

/**
 * The handler of each watched response, by how it is told: a response is in exactly one of the two maps, so it is
 * never told twice (a response watched by listener also finishes on the channel once someone subscribes). Entries
 * leave with their response, aborted ones too.
 */
const toldByChannel = new WeakMap<object, FinishHandler>();
const toldByListener = new WeakMap<object, FinishHandler>();
let holders = 0;

function requestStarted(message: unknown): void {
  announced.add((message as HttpServerMessage).response);
}

function responseFinished(message: unknown): void {
  const res = (message as HttpServerMessage).response;
  toldByChannel.get(res)?.finished(res);
}

function finishedListener(this: ServerResponse): void {
  toldByListener.get(this)?.finished(this);
}

/**
 * Calls `handler.finished(res)` once `res` has finished, that is once the whole response has been handed to the OS; never for a
 * response aborted before that. Why a channel rather than `res.on('finish')`: Express's request and response objects
 * have a prototype swapped in per request, so V8 cannot cache their shape and every property access on them is slow;
 * adding a listener alone costs more than the rest of the metering. Node's server publishes each finished response
 * once; a WeakMap lookup finds its handler, without touching the response.
 */
export function whenFinished(res: ServerResponse, handler: FinishHandler): void {
  if (holders > 0 && announced.has(res)) {
    toldByChannel.set(res, handler);
  } else {
    toldByListener.set(res, handler);
    res.on('finish', finishedListener);
  }
}

/** Subscribes to the server's channels while at least one metering is running. Returns the release function. */
export function holdFinishChannels(): () => void {
  if (holders++ === 0) {
    subscribe(REQUEST_START, requestStarted);
    subscribe(RESPONSE_FINISH, responseFinished);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) {
      unsubscribe(REQUEST_START, requestStarted);
      unsubscribe(RESPONSE_FINISH, responseFinished);
    }
  };
}

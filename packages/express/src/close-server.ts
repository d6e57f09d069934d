/** Closing the HTTP server at shutdown so requests in flight finish and count, cutting only those past the deadline. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Timers } from '@meterkit/core';

/** What closing the HTTP server did. */
export interface ServerCloseReport {
  /** True when requests were still running at the deadline and their connections were cut. */
  readonly forced: boolean;
}

/** How often idle keep-alive connections are closed while in-flight requests finish. */
const IDLE_SWEEP_MILLIS = 100;

/**
 * Stops accepting connections and waits for in-flight responses to finish (so they are counted). Keep-alive
 * connections would hold the server open until they time out, so idle ones are closed at once and then every
 * {@link IDLE_SWEEP_MILLIS}, and a request arriving on one meanwhile is answered with `Connection: close`. After
 * `timeoutMillis`, the connections still open are cut: those requests were not fully served and count nothing.
 * Resolves also when the server was not listening.
 */
export function closeServer(
  server: Server,
  timeoutMillis: number,
  timers: Timers,
): Promise<ServerCloseReport> {
  return new Promise((resolve) => {
    let forced = false;
    let closed = false;
    const lastResponseOnConnection = (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    const sweep = () => {
      if (closed) return;
      server.closeIdleConnections();
      sweeper = timers.setTimeout(sweep, IDLE_SWEEP_MILLIS);
    };
    let sweeper = timers.setTimeout(sweep, IDLE_SWEEP_MILLIS);
    const deadline = timers.setTimeout(() => {
      forced = true;
      server.closeAllConnections();
    }, timeoutMillis);
    server.prependListener('request', lastResponseOnConnection);
    // `close()` calls back with ERR_SERVER_NOT_RUNNING when the server was not listening: nothing to wait for.
    server.close(() => {
      closed = true;
      timers.clearTimeout(sweeper);
      timers.clearTimeout(deadline);
      server.off('request', lastResponseOnConnection);
      resolve({ forced });
    });
    server.closeIdleConnections();
  });
}

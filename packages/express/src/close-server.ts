import type { Server } from 'node:http';
import type { Timers } from '@meterkit/core';

/** What closing the HTTP server did. */
export interface ServerCloseReport {
  /** True when in-flight requests were still running at the deadline and their connections were cut. */
  readonly forced: boolean;
}

/**
 * Stops accepting connections and waits for in-flight responses to finish (so they are counted), closing idle
 * keep-alive connections at once. After `timeoutMillis`, cuts the connections still open: those requests were not
 * fully served and count nothing. Resolves also when the server was not listening.
 */
export function closeServer(
  server: Server,
  timeoutMillis: number,
  timers: Timers,
): Promise<ServerCloseReport> {
  return new Promise((resolve) => {
    let forced = false;
    const timer = timers.setTimeout(() => {
      forced = true;
      server.closeAllConnections();
    }, timeoutMillis);
    // `close()` answers ERR_SERVER_NOT_RUNNING when the server was already closed: nothing is left to wait for.
    server.close(() => {
      timers.clearTimeout(timer);
      resolve({ forced });
    });
    // Keep-alive connections with no request in flight would hold close() until they time out.
    server.closeIdleConnections();
  });
}

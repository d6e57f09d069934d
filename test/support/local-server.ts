// An HTTP app listening on a free port of 127.0.0.1, with the close that end-to-end tests need (open sockets too).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A test's server: its base URL, and a close that drops kept-alive connections so it finishes at once. */
export interface LocalServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts `app` (an Express app) on 127.0.0.1 and a free port. */
export async function listenLocally(app: {
  listen(port: number, host: string): Server;
}): Promise<LocalServer> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

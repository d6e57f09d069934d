/** An HTTP server for a test app on 127.0.0.1 and a free port, for tests that need real sockets. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** Starts `app` under a plain Node HTTP server and resolves once it listens. */
export async function listen(app: (req: IncomingMessage, res: never) => void): Promise<Server> {
  const server = createServer(app as never);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

import { createServer } from 'node:net';

/**
 * A loopback port free right now, for a peer (nginx) that cannot report the port it picked.
 * Another process could take it before the peer binds; the peer then fails to start, loudly.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

// A loopback TCP proxy between a client and the API server that can black-hole
// the connections open right now: it stops forwarding their bytes without
// closing them (what a dead NAT entry or a silently dropped load-balancer flow
// does to a watch), while new connections are forwarded normally.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** stop forwarding on every connection open now; returns how many */
  blackholeOpenConnections(): number;
  openConnections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; dead: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: targetHost });
    const pair = { client, upstream, dead: false };
    pairs.add(pair);
    client.on('data', (d) => {
      if (!pair.dead) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!pair.dead) client.write(d);
    });
    const end = (): void => {
      pairs.delete(pair);
      if (!pair.dead) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    blackholeOpenConnections() {
      let n = 0;
      for (const p of pairs) {
        if (!p.dead) {
          p.dead = true;
          n++;
        }
      }
      return n;
    },
    openConnections: () => [...pairs].filter((p) => !p.dead).length,
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

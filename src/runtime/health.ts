// /healthz (the process serves), /readyz (every informer cache has synced) and
// /metrics (Prometheus text), on the addresses kubebuilder projects use
// (:8081 for probes, :8080 for metrics); one server when both are the same.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSources {
  ready: () => { ok: boolean; detail: string };
  registry: Registry;
}

function parseAddress(address: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m || m[2] === undefined) throw new Error(`bad listen address "${address}": use host:port or :port, e.g. :8081 or 127.0.0.1:0`);
  return { host: m[1] === '' || m[1] === undefined ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export interface ServingEndpoints {
  metricsUrl: string;
  healthUrl: string;
  close(): Promise<void>;
}

export async function serveHealthAndMetrics(metricsAddress: string, healthAddress: string, sources: HealthSources): Promise<ServingEndpoints> {
  const handler = (path: string): { code: number; type: string; body: Promise<string> | string } | undefined => {
    if (path === '/healthz' || path === '/livez') return { code: 200, type: 'text/plain', body: 'ok' };
    if (path === '/readyz') {
      const readiness = sources.ready();
      return { code: readiness.ok ? 200 : 503, type: 'text/plain', body: readiness.detail };
    }
    if (path === '/metrics') return { code: 200, type: sources.registry.contentType, body: sources.registry.metrics() };
    return undefined;
  };
  const listen = async (address: string): Promise<{ server: Server; url: string }> => {
    const { host, port } = parseAddress(address);
    const server = createServer((req, res) => {
      const route = handler((req.url ?? '/').split('?')[0] ?? '/');
      if (!route) {
        res.writeHead(404).end('not found');
        return;
      }
      Promise.resolve(route.body).then(
        (body) => {
          res.writeHead(route.code, { 'Content-Type': route.type }).end(body);
        },
        (err: unknown) => {
          res.writeHead(500).end(String(err));
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    const bound = server.address();
    const actualPort = typeof bound === 'object' && bound ? bound.port : port;
    return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actualPort}` };
  };
  const metrics = await listen(metricsAddress);
  const health = healthAddress === metricsAddress ? metrics : await listen(healthAddress);
  return {
    metricsUrl: metrics.url,
    healthUrl: health.url,
    async close() {
      const servers = new Set([metrics.server, health.server]);
      await Promise.all(
        [...servers].map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => {
                r();
              });
            }),
        ),
      );
    },
  };
}

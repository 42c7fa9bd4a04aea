// An HTTPS endpoint for the API server's audit webhook (--audit-webhook-config-file).
// It authenticates the API server by client certificate, bounds request size and
// rate, and keeps only the stale-token annotation of each event (with its service
// account, pod, node, credential id and user agent; never the token): nothing else of
// the audit stream is stored or logged.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { Logger } from '../../runtime/log.ts';
import { staleTokenUse, type StaleTokenRegistry } from './stale-tokens.ts';

export interface AuditReceiverOptions {
  bindAddress: string;
  certFile: string;
  keyFile: string;
  /** CA that signed the API server's audit client certificate */
  clientCAFile: string;
  registry: StaleTokenRegistry;
  log: Logger;
  maxBodyBytes?: number;
  maxRequestsPerSecond?: number;
  /** the clock batches are timed and rate-limited with (default: the host's) */
  now?: () => number;
}

interface AuditEventList {
  items?: { annotations?: Record<string, string>; userAgent?: string; user?: { username?: string; extra?: Record<string, string[] | undefined> } }[];
}

export async function startAuditReceiver(options: AuditReceiverOptions): Promise<{ url: string; close(): Promise<void> }> {
  const maxBody = options.maxBodyBytes ?? 4 << 20;
  const rate = options.maxRequestsPerSecond ?? 50;
  const now = options.now ?? Date.now;
  let windowStart = now();
  let inWindow = 0;
  const server: Server = createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ca: readFileSync(options.clientCAFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const nowMs = now();
      if (nowMs - windowStart >= 1000) {
        windowStart = nowMs;
        inWindow = 0;
      }
      if (++inWindow > rate) {
        res.writeHead(429, { 'Retry-After': '1' }).end();
        return;
      }
      let size = 0;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          res.writeHead(413).end();
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (size > maxBody) return;
        try {
          const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AuditEventList;
          options.registry.noteBatch(now());
          for (const item of list.items ?? []) {
            const use = staleTokenUse(item);
            if (!use) continue;
            options.registry.record(use.serviceAccount, use.secondsAfter, use.userAgent, now());
            options.registry.clients.record(use, now());
          }
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end('expected an audit.k8s.io EventList');
        }
      });
    },
  );
  const m = /^(.*):(\d+)$/.exec(options.bindAddress);
  if (!m?.[2]) throw new Error(`bad --audit-webhook-bind-address "${options.bindAddress}": use host:port`);
  const host = m[1] || '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, resolve);
  });
  const bound = server.address();
  const url = `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${typeof bound === 'object' && bound ? bound.port : 0}`;
  options.log.info('audit webhook receiver listening', { url });
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  };
}

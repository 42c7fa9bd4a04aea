// A workstation or cluster behind a proxy, on a real control plane: with HTTPS_PROXY set,
// `check`, `status` and `run` reach the API server through an HTTP CONNECT proxy (one
// written here, on loopback, that counts its tunnels); NO_PROXY covering the server, or a
// loopback server, sends them direct as kubectl does; a kubeconfig's proxy-url (http, or
// socks5 through client-node) carries every request whatever NO_PROXY says.
//
// The API server listens on 127.0.0.1, which kubectl never proxies; the proxied
// kubeconfigs name it by this machine's host name (resolving to loopback, as /etc/hosts
// has it here), with tls-server-name: localhost, a name its serving certificate carries.
// Each child gets all six proxy variables explicitly: whatever the environment running
// the tests has set (NO_PROXY often lists localhost) does not leak in.
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, waitForCondition } from '../cluster/requests.ts';

const test = suite('proxies (HTTPS_PROXY, NO_PROXY, proxy-url)');
let cluster: Cluster;
let dir: string;
let op: OperatorProcess | undefined;

/** A loopback proxy that tunnels every CONNECT (or SOCKS5 connect) to the API server and counts them. */
interface CountingProxy {
  url: string;
  tunnels: string[];
  authorizations: string[];
  close(): Promise<void>;
}
function pipeToApiserver(sockets: Set<Socket>, client: Socket, head: Buffer, onOpen: () => void): void {
  const upstream = connect({ host: '127.0.0.1', port: cluster.port }, () => {
    onOpen();
    if (head.length) upstream.write(head);
    client.pipe(upstream).pipe(client);
  });
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
    s.on('close', () => sockets.delete(s));
  }
}

async function listen(server: HttpServer | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function startConnectProxy(): Promise<CountingProxy> {
  const tunnels: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    authorizations.push(req.headers['proxy-authorization'] ?? '');
    // The target's host is the proxy's to resolve; here every name is the API server.
    if (!req.url?.endsWith(`:${cluster.port}`)) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    pipeToApiserver(sockets, client, head, () => client.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, tunnels, authorizations, close: () => closeServer(server, sockets) };
}

/** RFC 1928 without authentication: greeting, then one CONNECT to a domain name or IPv4 address. */
async function startSocks5Proxy(): Promise<CountingProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    client.once('data', (greeting: Buffer) => {
      if (greeting[0] !== 5) {
        client.destroy();
        return;
      }
      client.write(Buffer.from([5, 0]));
      client.once('data', (req: Buffer) => {
        const atyp = req[3];
        const host = atyp === 3 ? req.subarray(5, 5 + (req[4] ?? 0)).toString() : [...req.subarray(4, 8)].join('.');
        const portAt = atyp === 3 ? 5 + (req[4] ?? 0) : 8;
        tunnels.push(`${host}:${req.readUInt16BE(portAt)}`);
        pipeToApiserver(sockets, client, req.subarray(portAt + 2), () => client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])));
      });
    });
    client.on('error', () => client.destroy());
  });
  const port = await listen(server);
  return { url: `socks5://127.0.0.1:${port}`, tunnels, authorizations: [], close: () => closeServer(server, sockets) };
}

async function closeServer(server: HttpServer | TcpServer, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** The same kubeconfig with the server named by host name (or given a proxy-url). */
async function variant(source: string, name: string, cluster0: { server?: string; proxyUrl?: string }): Promise<string> {
  const doc = parse(await readFile(source, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const c of doc.clusters) {
    if (cluster0.server) Object.assign(c.cluster, { server: cluster0.server, 'tls-server-name': 'localhost' });
    if (cluster0.proxyUrl) c.cluster['proxy-url'] = cluster0.proxyUrl;
  }
  const path = join(dir, name);
  await writeFile(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** Exactly these proxy variables, whatever the test runner's environment holds. */
function proxyEnv(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '', ...vars };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [`${ROOT}/src/cli/main.ts`, ...args], { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** `check -o json` reached the API server: it read the cluster and judged every area (an unreachable server prints one line to stderr instead). */
function assertChecked(r: Result): void {
  let doc: { areas: Record<string, unknown> };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new Error(`check did not report:\n${show(r)}`);
  }
  assert.ok(Object.keys(doc.areas).length >= 4, show(r));
}

/** `status` read the AuthPolicy (exit 0 or 1 by its conditions; 2 is "could not read"). */
function assertStatus(r: Result): void {
  assert.ok(r.code === 0 || r.code === 1, show(r));
  assert.match(r.stdout, /^AuthPolicy cluster\b/m, show(r));
}

let byName: string;
let proxy: CountingProxy;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authpolicy-proxy-'));
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' } },
  });
  const host = hostname();
  const resolved = await lookup(host).catch((err: unknown) => ({ address: String(err) }));
  assert.match(
    resolved.address,
    /^127\./,
    `this test names the API server by the host name ${host}, which must resolve to loopback (it resolved to ${resolved.address})`,
  );
  byName = await variant(cluster.adminKubeconfig, 'by-name.kubeconfig', { server: `https://${host}:${cluster.port}` });
  proxy = await startConnectProxy();
});
test.after(async () => {
  await op?.stop();
  await proxy.close();
  await (cluster as Cluster | undefined)?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('HTTPS_PROXY: check and status go through the proxy, its credentials sent to it', async () => {
  const env = proxyEnv({ HTTPS_PROXY: proxy.url.replace('//', '//ops:s3cret@') });
  const before = proxy.tunnels.length;
  assertChecked(await cli(['check', `--kubeconfig=${byName}`, '-o', 'json'], env));
  assertStatus(await cli(['status', `--kubeconfig=${byName}`], env));
  assert.ok(proxy.tunnels.length - before >= 2, `one tunnel per command at least; saw ${proxy.tunnels.length - before}`);
  assert.ok(
    proxy.tunnels.slice(before).every((t) => t === `${hostname()}:${cluster.port}`),
    proxy.tunnels.join(', '),
  );
  assert.is(proxy.authorizations.at(-1), `Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
});

test('lower-case https_proxy is honoured too', async () => {
  const before = proxy.tunnels.length;
  assertChecked(await cli(['check', `--kubeconfig=${byName}`, '-o', 'json'], proxyEnv({ https_proxy: proxy.url })));
  assert.ok(proxy.tunnels.length > before, 'went through the proxy');
});

test('NO_PROXY covering the server (its name, a domain suffix of it, or *) sends check and status direct', async () => {
  for (const noProxy of [hostname(), `other.example,${hostname()}:${cluster.port}`, '*']) {
    const before = proxy.tunnels.length;
    const env = proxyEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: noProxy });
    assertChecked(await cli(['check', `--kubeconfig=${byName}`, '-o', 'json'], env));
    assertStatus(await cli(['status', `--kubeconfig=${byName}`], env));
    assert.is(proxy.tunnels.length, before, `NO_PROXY=${noProxy}: no tunnel`);
  }
});

test('a loopback server goes direct with HTTPS_PROXY set (as kubectl: a kind cluster keeps working)', async () => {
  const before = proxy.tunnels.length;
  assertChecked(await cli(['check', `--kubeconfig=${cluster.adminKubeconfig}`, '-o', 'json'], proxyEnv({ HTTPS_PROXY: proxy.url })));
  assert.is(proxy.tunnels.length, before);
});

test('a proxy that refuses the tunnel: one short error at once, without the proxy password', async () => {
  // Port 2: fetch refuses a few "bad ports" (1 among them) before asking any proxy.
  const refusing = await variant(cluster.adminKubeconfig, 'other-port.kubeconfig', { server: `https://${hostname()}:2` });
  const r = await cli(['status', `--kubeconfig=${refusing}`, '--timeout=20s'], proxyEnv({ HTTPS_PROXY: proxy.url.replace('//', '//ops:s3cret@') }));
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr, /cannot reach the API server at https:\/\/[^:]+:2: Proxy response \(403\)/, show(r));
  assert.not.match(r.stderr + r.stdout, /s3cret/);
});

test('kubeconfig proxy-url carries every request, even to loopback and whatever NO_PROXY says', async () => {
  const viaUrl = await variant(cluster.adminKubeconfig, 'proxy-url.kubeconfig', { proxyUrl: proxy.url });
  const before = proxy.tunnels.length;
  assertChecked(await cli(['check', `--kubeconfig=${viaUrl}`, '-o', 'json'], proxyEnv({ NO_PROXY: '*' })));
  assert.ok(proxy.tunnels.length > before, 'went through the proxy-url');
  assert.is(proxy.tunnels.at(-1), `127.0.0.1:${cluster.port}`);
});

test('kubeconfig proxy-url socks5:// (through client-node) works', async () => {
  const socks = await startSocks5Proxy();
  try {
    const viaSocks = await variant(cluster.adminKubeconfig, 'socks.kubeconfig', { proxyUrl: socks.url });
    assertChecked(await cli(['check', `--kubeconfig=${viaSocks}`, '-o', 'json'], proxyEnv()));
    assert.ok(socks.tunnels.length > 0, 'went through the SOCKS proxy');
    assert.ok(
      socks.tunnels.every((t) => t === `127.0.0.1:${cluster.port}`),
      socks.tunnels.join(', '),
    );
  } finally {
    await socks.close();
  }
});

test('run: the operator behind HTTPS_PROXY watches, reads and writes status through it', async () => {
  const kubeconfig = await variant(await operatorKubeconfig(cluster), 'operator.kubeconfig', { server: `https://${hostname()}:${cluster.port}` });
  const before = proxy.tunnels.length;
  op = startOperator({ kubeconfig, args: ['--no-leader-elect'], env: proxyEnv({ HTTPS_PROXY: proxy.url }) });
  const c = await waitForCondition(cluster, 'cluster', 'BoundTokensHealthy', () => true, 90_000);
  assert.ok(c.reason, 'the operator wrote status');
  assert.ok(proxy.tunnels.length > before, `the operator's connection is a tunnel through the proxy (${proxy.tunnels.length - before})`);
  assert.ok(
    proxy.tunnels.slice(before).every((t) => t === `${hostname()}:${cluster.port}`),
    proxy.tunnels.join(', '),
  );
});

test.run();

// Kubeconfig loading the way kubectl does it (--kubeconfig, else $KUBECONFIG merged
// first-wins, else ~/.kube/config, else in-cluster), for the common credentials: a
// CA, a client certificate, a bearer token or token file, and the proxy (proxy.ts:
// a cluster's proxy-url, else HTTPS_PROXY/NO_PROXY). Anything else (exec plugins,
// auth providers, basic auth, SOCKS proxies) is left to @kubernetes/client-node,
// loaded only then: importing it costs ~2 s and ~50 MiB for its generated API
// (its KubeConfig module imports all of it), which every command would pay.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { environmentProxy, parseProxyUrl, type ProxyChoice } from './proxy.ts';

export interface ClientOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** TLS settings for the one connection pool, built once. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Where requests go and how they authenticate, resolved once. */
export interface Connection {
  server: string;
  tls: TlsSettings;
  /** a bearer token, or a file holding one (re-read when it changes: projected tokens rotate) */
  token?: { value: string } | { file: string };
  /** the proxy every request goes through (http or https here; socks5 only when delegated); none: direct */
  proxy?: ProxyChoice;
  /** credentials this loader does not handle: use @kubernetes/client-node's KubeConfig with these options (and `proxy`) */
  delegate?: ClientOptions;
}

interface NamedCluster {
  name: string;
  cluster?: Record<string, unknown>;
}
interface NamedUser {
  name: string;
  user?: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context?: { cluster?: string; user?: string };
}
interface KubeconfigFile {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** One kubeconfig file, its relative paths made absolute against its own folder (as kubectl does). */
function readFile(path: string): KubeconfigFile {
  let doc: KubeconfigFile;
  try {
    doc = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${path}: ${(err as Error).message}`, { cause: err });
  }
  const dir = dirname(path);
  const abs = (o: Record<string, unknown> | undefined, keys: string[]): void => {
    for (const k of keys) if (o && typeof o[k] === 'string' && o[k] !== '' && !isAbsolute(o[k])) o[k] = join(dir, o[k]);
  };
  for (const c of doc.clusters ?? []) abs(c.cluster, ['certificate-authority']);
  for (const u of doc.users ?? []) abs(u.user, ['client-certificate', 'client-key', 'tokenFile']);
  return doc;
}

/** kubectl's merge of several files: the first file to define a name (or current-context) wins. */
function merge(files: KubeconfigFile[]): KubeconfigFile {
  const out: Required<Omit<KubeconfigFile, 'current-context'>> & { 'current-context'?: string } = { clusters: [], users: [], contexts: [] };
  for (const f of files) {
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of f[key] ?? []) if (!(out[key] as { name: string }[]).some((e) => e.name === entry.name)) (out[key] as unknown[]).push(entry);
    }
    if (!out['current-context'] && f['current-context']) out['current-context'] = f['current-context'];
  }
  return out;
}

function fileOrData(file: unknown, data: unknown): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file) return readFileSync(file);
  return undefined;
}

/** Resolves the connection for --kubeconfig/--context, $KUBECONFIG, ~/.kube/config or in-cluster. */
export function loadConnection({ kubeconfig, context }: ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): Connection {
  let files: string[];
  if (kubeconfig) files = [kubeconfig];
  else if (env.KUBECONFIG) files = env.KUBECONFIG.split(delimiter).filter((p) => p && existsSync(p));
  else files = [join(homedir(), '.kube', 'config')].filter((p) => existsSync(p));

  if (files.length === 0) {
    const host = env.KUBERNETES_SERVICE_HOST;
    if (host && !context) {
      const port = env.KUBERNETES_SERVICE_PORT ?? '443';
      const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      // As client-go's in-cluster config: the environment's proxy applies unless NO_PROXY covers the Service IP.
      const proxy = environmentProxy(new URL(server), env);
      if (proxy?.url.protocol === 'socks5:') return { server, tls: {}, proxy, delegate: {} };
      return { server, tls: { ca: readFileSync(join(IN_CLUSTER_DIR, 'ca.crt')) }, token: { file: join(IN_CLUSTER_DIR, 'token') }, ...(proxy ? { proxy } : {}) };
    }
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster');
  }
  const config = merge(files.map(readFile));
  const contextName = context ?? config['current-context'];
  if (context && !config.contexts?.some((c) => c.name === context)) {
    throw new Error(`kubeconfig has no context "${context}"; known contexts: ${config.contexts?.map((c) => c.name).join(', ') || 'none'}`);
  }
  const ctx = config.contexts?.find((c) => c.name === contextName)?.context;
  const clusterName = ctx?.cluster;
  const cluster = config.clusters?.find((c) => c.name === clusterName)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster');
  }
  const user = config.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  const server = cluster.server.replace(/\/+$/, '');
  const proxyUrl = cluster['proxy-url'];
  let proxy: ProxyChoice | undefined;
  try {
    // kubectl: a cluster's proxy-url carries every request, whatever NO_PROXY says; else the environment decides.
    const from = `proxy-url of cluster "${clusterName ?? ''}"`;
    if (typeof proxyUrl === 'string' && proxyUrl !== '') proxy = { url: parseProxyUrl(proxyUrl, from), from };
    else proxy = environmentProxy(new URL(server), env);
  } catch (err) {
    throw new Error(`kubeconfig context "${contextName ?? ''}": ${(err as Error).message}`, { cause: err });
  }
  // Credentials and transports this loader does not implement go to client-node as they are.
  const handled = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data']);
  if (Object.keys(user).some((k) => !handled.has(k)) || proxy?.url.protocol === 'socks5:') {
    return { server, tls: {}, delegate: { kubeconfig, context }, ...(proxy ? { proxy } : {}) };
  }
  const tls: TlsSettings = {};
  const ca = fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']);
  if (ca) tls.ca = ca;
  const cert = fileOrData(user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(user['client-key'], user['client-key-data']);
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  const conn: Connection = { server, tls, ...(proxy ? { proxy } : {}) };
  if (typeof user.token === 'string' && user.token) conn.token = { value: user.token };
  else if (typeof user.tokenFile === 'string' && user.tokenFile) conn.token = { file: user.tokenFile };
  return conn;
}

// Which proxy the requests to the API server go through, decided as kubectl decides:
// a kubeconfig cluster's `proxy-url` carries every request; otherwise client-go takes
// net/http's ProxyFromEnvironment (golang.org/x/net/http/httpproxy, read here from
// its source): HTTPS_PROXY for an https server (HTTP_PROXY for http; https never falls
// back to HTTP_PROXY), the upper-case name before the lower-case one, unless the server
// is localhost or a loopback address, or NO_PROXY covers it (`*`, an IP, a CIDR, a
// domain and its subdomains, `.domain` for subdomains only, each optionally with a
// port). undici's EnvHttpProxyAgent reads the same variables but lower case first,
// sends https through HTTP_PROXY, and knows neither CIDR entries nor the loopback rule
// (a kind cluster on 127.0.0.1 would go to the corporate proxy), so the choice is made
// here, once per client, and undici's ProxyAgent carries the requests.
import { BlockList, isIP } from 'node:net';

/** A proxy for the API server's connection, and where it was configured (for messages). */
export interface ProxyChoice {
  url: URL;
  /** the environment variable's name, or `proxy-url of cluster "<name>"` */
  from: string;
}

/** The schemes kubectl accepts (client-go clientcmd: "URLs with http, https, and socks5 schemes are supported"). */
const SCHEMES = new Set(['http:', 'https:', 'socks5:']);

/** A proxy address as Go's parseProxy reads it: a URL (http, https, socks5) or `host[:port]`, meaning http. */
export function parseProxyUrl(value: string, from: string): URL {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  let url: URL | undefined;
  try {
    url = new URL(hasScheme ? value : `http://${value}`);
  } catch {
    url = undefined;
  }
  if (!url?.hostname) throw new Error(`${from} is not a proxy address (${redact(value)}): set it to http://host:port`);
  if (!SCHEMES.has(url.protocol))
    throw new Error(`${from} names a ${url.protocol.slice(0, -1)} proxy (${redact(value)}); kubectl and this client support http, https and socks5`);
  return url;
}

/** The proxy address without its credentials, for messages. */
export function redact(value: string | URL): string {
  if (typeof value === 'string') return value.replace(/\/\/[^/@]*@/, '//***@');
  if (!value.username && !value.password) return value.href.replace(/\/$/, '');
  const copy = new URL(value.href);
  copy.username = '***';
  copy.password = '';
  return copy.href.replace(/\/$/, '');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IP literal in one form: brackets dropped, an IPv4-mapped IPv6 address as IPv4 (Go's IP.Equal treats them alike). */
function ipOf(host: string): { ip: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
  const ip = mapped ?? bare;
  const family = isIP(ip);
  return family === 0 ? undefined : { ip, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Go's net.SplitHostPort for NO_PROXY entries: `host:port` or `[ipv6]:port`; anything else is all host. */
function splitHostPort(entry: string): [string, string] {
  const v6 = /^\[([^\]]*)\]:([^:]*)$/.exec(entry);
  if (v6) return [v6[1] ?? '', v6[2] ?? ''];
  const plain = /^([^:[\]]*):([^:]*)$/.exec(entry);
  if (plain) return [plain[1] ?? '', plain[2] ?? ''];
  return [entry, ''];
}

/**
 * Does a request to `server` go direct? True for localhost and loopback addresses (Go's
 * httpproxy never proxies those) and when an entry of `noProxy` covers the server's host
 * and port, with httpproxy's rules: `*` covers all; `10.0.0.0/8` an IP in it; `10.0.0.1`
 * or `10.0.0.1:6443` that IP (and port); `example.com` that name and its subdomains;
 * `.example.com` and `*.example.com` its subdomains only.
 */
export function goesDirect(server: URL, noProxy: string): boolean {
  const host = server.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  if (host === 'localhost') return true;
  const ip = ipOf(host);
  if (ip && LOOPBACK.check(ip.ip, ip.family)) return true;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
    const network = cidr ? ipOf(cidr[1] ?? '') : undefined;
    if (cidr && network && Number(cidr[2]) <= (network.family === 'ipv4' ? 32 : 128)) {
      if (ip?.family === network.family) {
        const list = new BlockList();
        list.addSubnet(network.ip, Number(cidr[2]), network.family);
        if (list.check(ip.ip, ip.family)) return true;
      }
      continue;
    }
    const [entryHost, entryPort] = splitHostPort(entry);
    const portMatches = entryPort === '' || entryPort === port;
    const entryIp = ipOf(entryHost);
    if (entryIp) {
      if (ip?.ip === entryIp.ip && portMatches) return true;
      continue;
    }
    if (!entryHost) continue;
    const suffixOnly = entryHost.startsWith('.') || entryHost.startsWith('*.');
    const suffix = entryHost.startsWith('*.') ? entryHost.slice(1) : suffixOnly ? entryHost : `.${entryHost}`;
    if ((host.endsWith(suffix) || (!suffixOnly && host === entryHost)) && portMatches) return true;
  }
  return false;
}

/** The first variable set to a non-empty value (Go's getEnvAny). */
function envAny(env: NodeJS.ProcessEnv, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value) return { name, value };
  }
  return undefined;
}

/** The proxy the environment names for `server`, or undefined when it goes direct. */
export function environmentProxy(server: URL, env: NodeJS.ProcessEnv = process.env): ProxyChoice | undefined {
  const proxy = server.protocol === 'https:' ? envAny(env, 'HTTPS_PROXY', 'https_proxy') : envAny(env, 'HTTP_PROXY', 'http_proxy');
  if (!proxy) return undefined;
  if (goesDirect(server, envAny(env, 'NO_PROXY', 'no_proxy')?.value ?? '')) return undefined;
  return { url: parseProxyUrl(proxy.value, proxy.name), from: proxy.name };
}

// The proxy choice as kubectl makes it (golang.org/x/net/http/httpproxy): which
// variable wins, NO_PROXY entries (host, domain suffix, CIDR, IP, port, `*`), the
// loopback rule, proxy-url over the environment, and what a bad address says.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { loadConnection } from '../../../src/kube/kubeconfig.ts';
import { environmentProxy, goesDirect, parseProxyUrl, redact } from '../../../src/kube/proxy.ts';

const test = suite('proxy');

const server = (s: string): URL => new URL(s);

test('NO_PROXY entries, as httpproxy reads them', () => {
  const rows: [string, string, boolean][] = [
    // server, NO_PROXY, goes direct
    ['https://api.example.com:6443', '', false],
    ['https://api.example.com:6443', '*', true],
    ['https://api.example.com:6443', ' foo.org , * ', true],
    ['https://api.example.com:6443', 'example.com', true],
    ['https://example.com:6443', 'example.com', true],
    ['https://example.com:6443', '.example.com', false],
    ['https://api.example.com:6443', '.example.com', true],
    ['https://api.example.com:6443', '*.example.com', true],
    ['https://example.com:6443', '*.example.com', false],
    ['https://notexample.com:6443', 'example.com', false],
    ['https://API.Example.COM:6443', 'api.EXAMPLE.com', true],
    ['https://api.example.com:6443', 'api.example.com:6443', true],
    ['https://api.example.com:6443', 'api.example.com:443', false],
    ['https://api.example.com', 'api.example.com:443', true],
    ['https://10.96.0.1:443', '10.0.0.0/8', true],
    ['https://10.96.0.1:443', '10.96.0.0/12', true],
    ['https://10.112.0.1:443', '10.96.0.0/12', false],
    ['https://192.168.1.10:6443', '10.0.0.0/8,192.168.0.0/16', true],
    ['https://10.96.0.1', '10.96.0.1', true],
    ['https://10.96.0.1:6443', '10.96.0.1:6443', true],
    ['https://10.96.0.1:6443', '10.96.0.1:443', false],
    ['https://10.96.0.2', '10.96.0.1', false],
    ['https://[fd00::1]:6443', 'fd00::/8', true],
    ['https://[fd00::1]:6443', '[fd00::1]:6443', true],
    ['https://[fd00::1]:6443', 'fc00::/8', false],
    ['https://api.example.com:6443', '10.0.0.0/8', false],
    // never proxied, whatever NO_PROXY says (Go: localhost and loopback addresses)
    ['https://127.0.0.1:6443', '', true],
    ['https://127.1.2.3:6443', '', true],
    ['https://[::1]:6443', '', true],
    ['https://localhost:6443', '', true],
    // a name that resolves to loopback is still proxied: the rule reads the literal host
    ['https://kubernetes.default.svc:6443', '', false],
  ];
  for (const [s, noProxy, direct] of rows) assert.is(goesDirect(server(s), noProxy), direct, `${s} with NO_PROXY="${noProxy}"`);
});

test('the variables: upper case first, https never falls back to HTTP_PROXY, NO_PROXY over no_proxy', () => {
  const https = server('https://api.example.com:6443');
  assert.is(environmentProxy(https, {}), undefined);
  assert.is(environmentProxy(https, { HTTP_PROXY: 'http://p:3128' }), undefined, 'https only uses HTTPS_PROXY');
  assert.equal(environmentProxy(https, { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128' })?.from, 'HTTPS_PROXY');
  assert.equal(environmentProxy(https, { HTTPS_PROXY: '', https_proxy: 'http://lower:3128' })?.url.host, 'lower:3128');
  assert.equal(environmentProxy(server('http://api.example.com'), { http_proxy: 'p:8080' })?.url.href, 'http://p:8080/');
  assert.is(environmentProxy(https, { HTTPS_PROXY: 'http://p:3128', no_proxy: 'example.com' }), undefined);
  assert.is(environmentProxy(https, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'example.com', no_proxy: 'other.org' }), undefined, 'NO_PROXY wins');
  assert.ok(environmentProxy(https, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'other.org', no_proxy: 'example.com' }), 'lower case ignored when upper is set');
  assert.is(environmentProxy(server('https://127.0.0.1:6443'), { HTTPS_PROXY: 'http://p:3128' }), undefined, 'a kind cluster on loopback goes direct');
});

test('proxy addresses: host:port means http; http, https and socks5 only; credentials never shown', () => {
  assert.is(parseProxyUrl('proxy.corp:3128', 'HTTPS_PROXY').href, 'http://proxy.corp:3128/');
  assert.is(parseProxyUrl('https://proxy.corp', 'HTTPS_PROXY').protocol, 'https:');
  assert.is(parseProxyUrl('socks5://127.0.0.1:1080', 'x').protocol, 'socks5:');
  assert.throws(
    () => parseProxyUrl('ftp://proxy.corp', 'HTTPS_PROXY'),
    /HTTPS_PROXY names a ftp proxy \(ftp:\/\/proxy.corp\); kubectl and this client support http, https and socks5/,
  );
  assert.throws(() => parseProxyUrl('http://', 'HTTPS_PROXY'), /HTTPS_PROXY is not a proxy address/);
  assert.throws(
    () => parseProxyUrl('socks4://user:secret@p:1080', 'HTTPS_PROXY'),
    (err: Error) => !err.message.includes('secret'),
  );
  assert.is(redact(new URL('http://user:secret@p:3128')), 'http://***@p:3128');
  assert.is(redact('http://user:secret@p:3128'), 'http://***@p:3128');
});

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proxy-'));
  const cluster = (name: string, extra: Record<string, unknown> = {}): unknown => ({ name, cluster: { server: `https://${name}.example:6443`, ...extra } });
  await writeFile(
    join(dir, 'config'),
    stringify({
      clusters: [
        cluster('plain'),
        cluster('proxied', { 'proxy-url': 'http://kube-proxy.corp:8080' }),
        cluster('socks', { 'proxy-url': 'socks5://127.0.0.1:1080' }),
        cluster('bad', { 'proxy-url': 'ftp://x' }),
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: ['plain', 'proxied', 'socks', 'bad'].map((c) => ({ name: c, context: { cluster: c, user: 'u' } })),
      'current-context': 'plain',
    }),
  );
});
test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('kubeconfig: proxy-url carries every request, NO_PROXY or not; else the environment; socks5 goes to client-node', () => {
  const kubeconfig = join(dir, 'config');
  const env = { HTTPS_PROXY: 'http://env.corp:3128', NO_PROXY: '.example' };
  assert.is(loadConnection({ kubeconfig }, {}).proxy, undefined);
  assert.is(loadConnection({ kubeconfig }, env).proxy, undefined, 'NO_PROXY covers plain.example');
  assert.is(loadConnection({ kubeconfig }, { HTTPS_PROXY: 'http://env.corp:3128' }).proxy?.url.host, 'env.corp:3128');
  const proxied = loadConnection({ kubeconfig, context: 'proxied' }, env);
  assert.equal([proxied.proxy?.url.href, proxied.proxy?.from, proxied.delegate], ['http://kube-proxy.corp:8080/', 'proxy-url of cluster "proxied"', undefined]);
  assert.is(proxied.token && 'value' in proxied.token ? proxied.token.value : undefined, 't', 'an http proxy keeps the native client');
  const socks = loadConnection({ kubeconfig, context: 'socks' }, {});
  assert.equal([socks.proxy?.url.protocol, socks.delegate], ['socks5:', { kubeconfig, context: 'socks' }]);
  assert.throws(() => loadConnection({ kubeconfig, context: 'bad' }, {}), /kubeconfig context "bad": proxy-url of cluster "bad" names a ftp proxy/);
});

test.run();

// Which Kubernetes client library a request came from, parsed from its User-Agent,
// and whether that version re-reads projected tokens before they expire.
// Source: the token-expiry-extension incident write-up (the first versions that refresh bound tokens, as listed by the
// Kubernetes docs for BoundServiceAccountTokenVolume, KEP-1205): Go client v0.15.7,
// Python v12.0.0, Java v9.0.0, JavaScript v0.10.3, Haskell v0.3.0.0 and later; Ruby
// only on its master branch (no release).

export type ClientLibrary = 'go' | 'python' | 'java' | 'javascript' | 'haskell' | 'ruby';

/** The first version of each client library that refreshes tokens (the token-expiry-extension incident). */
export const FIRST_REFRESHING: Record<ClientLibrary, string | undefined> = {
  go: '0.15.7',
  python: '12.0.0',
  java: '9.0.0',
  javascript: '0.10.3',
  haskell: '0.3.0.0',
  ruby: undefined,
};

const NAMES: Record<ClientLibrary, string> = {
  go: 'Go client-go',
  python: 'Python client',
  java: 'Java client',
  javascript: 'JavaScript client',
  haskell: 'Haskell client',
  ruby: 'Ruby client',
};

export interface ClientInfo {
  library: ClientLibrary | 'unknown';
  /** e.g. "Python client v11.0.0" */
  name: string;
  version: string | undefined;
  /** undefined: not known from the user agent */
  refreshesTokens: boolean | undefined;
}

/** Dotted versions compared numerically; a suffix (-rc.1, +build) is ignored. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string): number[] => (v.replace(/^v/, '').split(/[-+]/)[0] ?? '').split('.').map((x) => Number(x) || 0);
  const a = parts(version);
  const b = parts(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

const PATTERNS: { library: ClientLibrary; re: RegExp; version?: (m: RegExpExecArray) => string | undefined }[] = [
  // kubernetes-client/python and /java are OpenAPI-generated: "OpenAPI-Generator/12.0.0/python"
  { library: 'python', re: /OpenAPI-Generator\/v?([\d.]+)[^/\s]*\/python/i },
  { library: 'java', re: /OpenAPI-Generator\/v?([\d.]+)[^/\s]*\/java/i },
  { library: 'java', re: /kubernetes[- ]java[- ]client\/v?([\d.]+)/i },
  { library: 'javascript', re: /(?:@kubernetes\/)?client-node\/v?([\d.]+)/i },
  { library: 'javascript', re: /kubernetes-client\/javascript\/v?([\d.]+)/i },
  { library: 'haskell', re: /kubernetes-client(?:-core)?[-/]haskell\/v?([\d.]+)/i },
  { library: 'ruby', re: /kubeclient\/v?([\d.]+)/i },
  // client-go: "<program>/v1.30.2 (linux/amd64) kubernetes/<commit>"; Kubernetes v1.N.P ships client-go v0.N.P.
  {
    library: 'go',
    re: /^[^/\s]+\/v(\d+)\.(\d+)\.(\d+)\S* \([^)]*\) kubernetes\/\S+/,
    version: (m) => (m[1] === '1' ? `0.${m[2]}.${m[3]}` : m[1] === '0' ? `0.${m[2]}.${m[3]}` : undefined),
  },
];

export function parseClient(userAgent: string | undefined): ClientInfo {
  for (const p of PATTERNS) {
    const m = p.re.exec(userAgent ?? '');
    if (!m) continue;
    const version = p.version ? p.version(m) : m[1];
    const first = FIRST_REFRESHING[p.library];
    const refreshesTokens = version === undefined ? undefined : first === undefined ? false : versionAtLeast(version, first);
    return { library: p.library, name: `${NAMES[p.library]}${version ? ` v${version}` : ''}`, version, refreshesTokens };
  }
  return { library: 'unknown', name: 'an unrecognised client', version: undefined, refreshesTokens: undefined };
}

/** "upgrade to Python client v12.0.0 or newer" */
export function upgradeAdvice(c: ClientInfo): string {
  if (c.library === 'unknown')
    return 'check that its client library refreshes tokens (Go client v0.15.7, Python v12.0.0, Java v9.0.0, JavaScript v0.10.3, Haskell v0.3.0.0 or newer)';
  const first = FIRST_REFRESHING[c.library];
  return first
    ? `upgrade to ${NAMES[c.library]} v${first} or newer, which refreshes tokens`
    : `no released ${NAMES[c.library]} refreshes tokens (only its master branch): re-read the token file before it expires`;
}

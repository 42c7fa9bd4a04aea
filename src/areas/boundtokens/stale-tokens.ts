// Service accounts whose clients use stale bound tokens: the API server marks each
// request made with a token past its `warnafter` (an admission-injected token it
// silently extended, up to a year) with the audit annotation
// authentication.k8s.io/stale-token = "subject: system:serviceaccount:<ns>:<sa>,
// seconds after warning threshold: <n>". Only that is kept, per service account,
// bounded and forgotten after a day.

export const STALE_TOKEN_ANNOTATION = 'authentication.k8s.io/stale-token';

export interface StaleTokenUser {
  serviceAccount: string;
  requests: number;
  maxSecondsAfterWarning: number;
  lastSeen: string;
  userAgents: string[];
}

const PATTERN = /^subject: system:serviceaccount:([^:,\s]+):([^,\s]+), seconds after warning threshold: ?(\d+)/;

/** Parses the annotation; undefined for anything else. */
export function parseStaleToken(value: string): { serviceAccount: string; secondsAfter: number } | undefined {
  const m = PATTERN.exec(value.trim());
  if (!m?.[1] || !m[2] || m[3] === undefined) return undefined;
  return { serviceAccount: `${m[1]}/${m[2]}`, secondsAfter: Number(m[3]) };
}

export class StaleTokenRegistry {
  private readonly users = new Map<string, { requests: number; max: number; lastSeen: number; agents: Set<string> }>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  /** the same uses per pod and client (user agent) */
  readonly clients = new StaleTokenClients();
  /** when the receiver last got an audit batch, of any content (undefined: none yet) */
  lastBatchMs: number | undefined;

  constructor(ttlMs = 24 * 3600_000, maxUsers = 1000) {
    this.ttlMs = ttlMs;
    this.maxUsers = maxUsers;
  }

  /** An audit batch arrived: the webhook works, whatever the batch held. */
  noteBatch(atMs: number): void {
    this.lastBatchMs = atMs;
  }

  record(serviceAccount: string, secondsAfter: number, userAgent: string | undefined, atMs: number): void {
    let user = this.users.get(serviceAccount);
    if (!user) {
      if (this.users.size >= this.maxUsers) return;
      user = { requests: 0, max: 0, lastSeen: atMs, agents: new Set() };
      this.users.set(serviceAccount, user);
    }
    user.requests++;
    user.max = Math.max(user.max, secondsAfter);
    user.lastSeen = atMs;
    if (userAgent && user.agents.size < 3) user.agents.add(userAgent.slice(0, 120));
  }

  list(nowMs: number): StaleTokenUser[] {
    const out: StaleTokenUser[] = [];
    for (const [account, user] of this.users) {
      if (nowMs - user.lastSeen > this.ttlMs) {
        this.users.delete(account);
        continue;
      }
      out.push({
        serviceAccount: account,
        requests: user.requests,
        maxSecondsAfterWarning: user.max,
        lastSeen: new Date(user.lastSeen).toISOString(),
        userAgents: [...user.agents],
      });
    }
    return out.sort((a, b) => b.requests - a.requests || a.serviceAccount.localeCompare(b.serviceAccount));
  }
}

/** One client's stale-token use, as the audit event tells it (never the token itself). */
export interface StaleTokenUse {
  serviceAccount: string;
  /** from the bound token's pod claim (user.extra authentication.kubernetes.io/pod-name, pod-uid) */
  pod?: { namespace: string; name: string; uid: string } | undefined;
  node?: string | undefined;
  /** authentication.kubernetes.io/credential-id: "JTI=<id>", names the token without being it */
  credentialId?: string | undefined;
  userAgent?: string | undefined;
  secondsAfter: number;
}

export interface StaleTokenClient {
  serviceAccount: string;
  pod?: { namespace: string; name: string; uid: string };
  nodes: string[];
  credentialIds: string[];
  userAgent: string;
  requests: number;
  maxSecondsAfterWarning: number;
  lastSeenMs: number;
}

interface AuditUser {
  username?: string;
  extra?: Record<string, string[] | undefined>;
}

/** The parts of an audit event kept for a stale token; undefined when the event has no stale-token annotation. */
export function staleTokenUse(event: { annotations?: Record<string, string>; userAgent?: string; user?: AuditUser }): StaleTokenUse | undefined {
  const value = event.annotations?.[STALE_TOKEN_ANNOTATION];
  const parsed = value ? parseStaleToken(value) : undefined;
  if (!parsed) return undefined;
  const extra = event.user?.extra ?? {};
  const one = (k: string): string | undefined => extra[`authentication.kubernetes.io/${k}`]?.[0]?.slice(0, 253);
  const podName = one('pod-name');
  const podUid = one('pod-uid');
  const namespace = parsed.serviceAccount.split('/')[0] ?? '';
  return {
    ...parsed,
    pod: podName && podUid ? { namespace, name: podName, uid: podUid } : undefined,
    node: one('node-name'),
    credentialId: one('credential-id'),
    userAgent: event.userAgent?.slice(0, 200),
  };
}

/** Stale-token uses per pod and client (user agent), bounded; forgotten after a day. */
export class StaleTokenClients {
  private readonly clients = new Map<string, StaleTokenClient>();
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(ttlMs = 24 * 3600_000, max = 1000) {
    this.ttlMs = ttlMs;
    this.max = max;
  }

  record(use: StaleTokenUse, atMs: number): void {
    const agent = use.userAgent ?? '';
    const key = `${use.pod?.uid ?? use.serviceAccount}\n${agent}`;
    let client = this.clients.get(key);
    if (!client) {
      if (this.clients.size >= this.max) return;
      client = {
        serviceAccount: use.serviceAccount,
        ...(use.pod ? { pod: use.pod } : {}),
        nodes: [],
        credentialIds: [],
        userAgent: agent,
        requests: 0,
        maxSecondsAfterWarning: 0,
        lastSeenMs: atMs,
      };
      this.clients.set(key, client);
    }
    client.requests++;
    client.maxSecondsAfterWarning = Math.max(client.maxSecondsAfterWarning, use.secondsAfter);
    client.lastSeenMs = atMs;
    if (use.node && !client.nodes.includes(use.node) && client.nodes.length < 3) client.nodes.push(use.node);
    if (use.credentialId && !client.credentialIds.includes(use.credentialId) && client.credentialIds.length < 3) client.credentialIds.push(use.credentialId);
  }

  list(nowMs: number): StaleTokenClient[] {
    for (const [key, client] of this.clients) if (nowMs - client.lastSeenMs > this.ttlMs) this.clients.delete(key);
    return [...this.clients.values()].map((client) => ({ ...client, nodes: [...client.nodes], credentialIds: [...client.credentialIds] }));
  }
}

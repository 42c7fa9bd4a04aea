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

  constructor(ttlMs = 24 * 3600_000, maxUsers = 1000) {
    this.ttlMs = ttlMs;
    this.maxUsers = maxUsers;
  }

  record(serviceAccount: string, secondsAfter: number, userAgent: string | undefined, atMs: number): void {
    let u = this.users.get(serviceAccount);
    if (!u) {
      if (this.users.size >= this.maxUsers) return;
      u = { requests: 0, max: 0, lastSeen: atMs, agents: new Set() };
      this.users.set(serviceAccount, u);
    }
    u.requests++;
    u.max = Math.max(u.max, secondsAfter);
    u.lastSeen = atMs;
    if (userAgent && u.agents.size < 3) u.agents.add(userAgent.slice(0, 120));
  }

  list(nowMs: number): StaleTokenUser[] {
    const out: StaleTokenUser[] = [];
    for (const [sa, u] of this.users) {
      if (nowMs - u.lastSeen > this.ttlMs) { this.users.delete(sa); continue; }
      out.push({ serviceAccount: sa, requests: u.requests, maxSecondsAfterWarning: u.max, lastSeen: new Date(u.lastSeen).toISOString(), userAgents: [...u.agents] });
    }
    return out.sort((a, b) => b.requests - a.requests || a.serviceAccount.localeCompare(b.serviceAccount));
  }
}

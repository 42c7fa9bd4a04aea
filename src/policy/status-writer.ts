// Writing an AuthPolicy's status: through the status subresource, only when it changed,
// from the latest version the operator knows, and at a bounded rate for progress alone.
// - The informer's cache lags the operator's own writes (their watch events arrive later):
//   writing from the cached resourceVersion right after a write would only conflict. The
//   writer remembers the versions its own writes produced; while the cache shows one of those
//   (or the one the first was written over) and not the newest, it writes from the newest.
// - A rotation changes its counts on every reconcile (several a second): changes of messages and
//   counts alone are rate-limited by a token bucket (a burst of PROGRESS_BURST, then one per
//   PROGRESS_INTERVAL_MS), so a handful of changes shows at once and a long rotation writes every
//   few seconds; a condition's status or reason, or a new observedGeneration, is written at once.
//   What is held back is written by the reconcile the caller requeues after `deferredMs`.
import { API_VERSION, KIND, type AuthPolicy, type AuthPolicyStatus } from '../api/types.ts';
import { ConditionType } from '../api/reasons.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../kube/paths.ts';
import type { Logger } from '../runtime/log.ts';
import { jsonEqual, statusChanges } from './status.ts';

/** Progress alone (messages, counts): a burst of this many writes, then one per PROGRESS_INTERVAL_MS. */
export const PROGRESS_BURST = 10;
export const PROGRESS_INTERVAL_MS = 5000;
/** Own versions remembered per policy: more than the writes a lagging cache can be behind by. */
const KNOWN_VERSIONS = 32;

export interface StatusWrite {
  written: boolean;
  /** a change of progress alone, held back: reconcile again after this long to write it */
  deferredMs?: number;
}

interface Chain {
  /** resourceVersions the cache may still show that are older than `latest`: ours, or the one the chain began over */
  known: string[];
  /** the resourceVersion the last write produced */
  latest: string;
  status: AuthPolicyStatus;
}

/** Only messages and summaries differ: the same conditions with the same status and reason, the same observedGeneration. */
export function progressOnly(before: AuthPolicyStatus, after: AuthPolicyStatus): boolean {
  if (before.observedGeneration !== after.observedGeneration) return false;
  const was = new Map((before.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
  const now = after.conditions ?? [];
  return now.length === was.size && now.every((c) => was.get(c.type) === `${c.status}/${c.reason}`);
}

export class StatusWriter {
  private readonly chains = new Map<string, Chain>();
  /** progress writes allowed now, per policy, and when that was counted */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly burst: number;

  constructor(client: KubeClient, log: Logger, opts: { now?: () => number; progressIntervalMs?: number; progressBurst?: number } = {}) {
    this.client = client;
    this.log = log;
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
    this.burst = opts.progressBurst ?? PROGRESS_BURST;
  }

  /** The status the operator last knows the policy to have: its own last write while the cache lags it. */
  latest(policy: AuthPolicy): AuthPolicyStatus | undefined {
    const chain = this.chains.get(keyOf(policy));
    return chain && this.lagging(chain, policy) ? chain.status : policy.status;
  }

  /**
   * Writes `status` when it differs from the latest known. On a 409 (someone else wrote) it re-reads the
   * policy and writes again at once, unless the latest status already is this one; a second conflict is
   * left to the controller's retry.
   */
  async write(policy: AuthPolicy, status: AuthPolicyStatus, log: Logger = this.log): Promise<StatusWrite> {
    const key = keyOf(policy);
    const chain = this.chains.get(key);
    const lagging = chain !== undefined && this.lagging(chain, policy);
    const base = (lagging ? chain.status : policy.status) ?? {};
    if (jsonEqual(base, status)) return { written: false };
    if (progressOnly(base, status)) {
      const wait = this.takeProgressToken(key);
      if (wait > 0) return { written: false, deferredMs: wait };
    }
    const cached = policy.metadata.resourceVersion ?? '';
    try {
      const produced = await this.put(policy, status, lagging ? chain.latest : cached);
      this.remember(key, lagging ? [...chain.known, chain.latest] : [cached], produced, status);
    } catch (err) {
      if (!isConflict(err)) throw err;
      this.chains.delete(key);
      log.debug('status write conflicted; re-reading the policy', { resourceVersion: policy.metadata.resourceVersion });
      // A list by name, not a get: the operator's ClusterRole reads policies with list and watch only.
      const found = await this.client.list<{ items?: AuthPolicy[] }>(collectionPath(Resources.authPolicies), {
        fieldSelector: `metadata.name=${policy.metadata.name}`,
      });
      const fresh = found.items?.[0];
      if (!fresh || fresh.metadata.uid !== policy.metadata.uid) return { written: false }; // deleted (or re-created) meanwhile
      if (jsonEqual(fresh.status ?? {}, status)) return { written: false };
      const over = fresh.metadata.resourceVersion ?? '';
      this.remember(key, [cached, over], await this.put(policy, status, over), status);
    }
    log.info('status updated', {
      ready: status.conditions?.find((c) => c.type === ConditionType.Ready)?.status,
      changed: statusChanges(base, status),
    });
    return { written: true };
  }

  /** Takes a progress write from the policy's bucket: 0 if one was there, else how long until one is. */
  private takeProgressToken(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.intervalMs);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.ceil((1 - tokens) * this.intervalMs);
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return 0;
  }

  private lagging(chain: Chain, policy: AuthPolicy): boolean {
    const cached = policy.metadata.resourceVersion ?? '';
    return cached !== chain.latest && chain.known.includes(cached);
  }

  private remember(key: string, known: string[], latest: string, status: AuthPolicyStatus): void {
    this.chains.set(key, { known: known.slice(-KNOWN_VERSIONS), latest, status });
  }

  private async put(policy: AuthPolicy, status: AuthPolicyStatus, resourceVersion: string): Promise<string> {
    const written = await this.client.replace<{ metadata?: { resourceVersion?: string } }>(
      objectPath(Resources.authPolicies, policy.metadata.name, undefined, 'status'),
      { apiVersion: API_VERSION, kind: KIND, metadata: { name: policy.metadata.name, resourceVersion: resourceVersion || undefined }, status },
    );
    return written.metadata?.resourceVersion ?? '';
  }
}

const keyOf = (policy: AuthPolicy): string => `${policy.metadata.name}/${policy.metadata.uid ?? ''}`;

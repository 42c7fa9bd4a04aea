// What this process wrote for rotations and still awaits, across reconciles: the canary that proves
// kube-controller-manager's tokens controller, the blanks awaiting their refill, and the done marks
// the Secret cache has not shown yet. Made once at wiring time (index.ts) and handed to observe, which
// reads it against the Secret cache (progress: plain data the plan decides from), and to act, which
// records in it what the plan's step says and what it wrote. Nothing in it is decided here.
import type { Informer } from '../../../runtime/informer.ts';
import type { TokenSecret } from '../caches.ts';
import { isCanary } from './canary.ts';
import type { SecretRef } from '../types.ts';

/** The canary as this process knows it. */
export interface CanaryState {
  verifiedAt: number;
  failedAt: number;
  failure: string | undefined;
  /** the canary created and not yet judged: the next reconcile (woken by its refill) looks at it */
  pending?: { name: string; namespace: string; createdAt: number } | undefined;
  /** when this process last saw a live Secret it blanked refilled: proof enough to blank a few at once */
  liveRefilledAt?: number | undefined;
}

/** The ledger as the Secret cache shows it now (observe): what the rotation pace rules decide from. */
export interface RotationProgress {
  /** where canaries are made: the operator's namespace */
  namespace: string;
  canary: Omit<CanaryState, 'pending'> & {
    pending?: { name: string; namespace: string; createdAt: number; filled: boolean } | undefined;
    /** canaries in the operator's namespace that are not the pending one (left by an earlier process) */
    leftovers: string[];
  };
  /** blanks this process wrote and awaits (namespace/name), and whether the cache still shows the Secret as before the blank */
  awaited: { secret: string; namespace: string; unseen: boolean }[];
  /** done marks this process wrote: the version each was planned from, and whether the cache still shows that version */
  marked: { secret: string; resourceVersion: string | undefined; unseen: boolean }[];
}

/** What act records in the ledger before it writes, as the plan's step says. */
export interface StepRecord {
  /** awaited blanks now seen refilled: counted succeeded, and proof that a live Secret is refilled */
  refilled: string[];
  /** awaited blanks not refilled in time: counted failed */
  failed: string[];
  /** the proof of the tokens controller: kept, renewed (its canary filled), withdrawn (a refill overdue) or failed (its canary not filled) */
  proof: { kind: 'kept' } | { kind: 'verified' } | { kind: 'withdrawn' } | { kind: 'failed'; failure: string };
  /** done marks the cache shows now: nothing left to remember */
  marksSeen: string[];
}

/** No ledger read (plan tests, `check` before any reconcile): nothing awaited, nothing proven. */
export const noProgress = (namespace = ''): RotationProgress => ({
  namespace,
  canary: { verifiedAt: 0, failedAt: 0, failure: undefined, leftovers: [] },
  awaited: [],
  marked: [],
});

const key = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

export class RotationLedger {
  readonly canary: CanaryState = { verifiedAt: 0, failedAt: 0, failure: undefined };
  /** blanks this process wrote, with the version each was planned from: counted once as succeeded (refilled) or failed (timed out) */
  readonly awaited = new Map<string, SecretRef>();
  /** done marks this process wrote, with the version each was planned from, until the cache shows the mark */
  readonly marked = new Map<string, SecretRef>();
  /** where canaries are made: the operator's namespace */
  readonly namespace: string;

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  /**
   * The ledger against the Secret cache now. A reconcile woken by another change may plan from a cache that has not
   * seen the operator's own write yet: such a write is "unseen", neither to be repeated nor taken for refilled.
   */
  progress(secrets: Pick<Informer<TokenSecret>, 'get' | 'list'>): RotationProgress {
    const unseen = (written: SecretRef): boolean => secrets.get(written.name, written.namespace)?.metadata.resourceVersion === written.resourceVersion;
    const { pending, ...canary } = this.canary;
    return {
      namespace: this.namespace,
      canary: {
        ...canary,
        ...(pending ? { pending: { ...pending, filled: !!secrets.get(pending.name, pending.namespace)?.tokenHash } } : {}),
        leftovers: secrets
          .list(this.namespace)
          .map((s) => s.metadata.name)
          .filter((name) => isCanary(name) && name !== pending?.name),
      },
      awaited: [...this.awaited].map(([secret, ref]) => ({ secret, namespace: ref.namespace, unseen: unseen(ref) })),
      marked: [...this.marked].map(([secret, ref]) => ({ secret, resourceVersion: ref.resourceVersion, unseen: unseen(ref) })),
    };
  }

  /** Records what the plan's step says of what this process awaited (before the step's writes). */
  settle(record: StepRecord, nowMs: number): void {
    for (const secret of [...record.refilled, ...record.failed]) this.awaited.delete(secret);
    for (const secret of record.marksSeen) this.marked.delete(secret);
    if (record.refilled.length > 0) this.canary.liveRefilledAt = nowMs;
    const proof = record.proof;
    if (proof.kind === 'verified') Object.assign(this.canary, { verifiedAt: nowMs, failure: undefined, pending: undefined });
    else if (proof.kind === 'withdrawn') Object.assign(this.canary, { verifiedAt: 0, liveRefilledAt: undefined });
    else if (proof.kind === 'failed') Object.assign(this.canary, { pending: undefined, failedAt: nowMs, failure: proof.failure });
  }

  /** A canary created: judged by a later reconcile. */
  canaryCreated(name: string, nowMs: number): void {
    this.canary.pending = { name, namespace: this.namespace, createdAt: nowMs };
  }

  /** A Secret blanked under the version the plan judged: awaited until refilled or timed out. */
  blanked(secret: SecretRef): void {
    this.awaited.set(key(secret), secret);
  }

  /** A rotation marked done under the version the plan judged: remembered until the cache shows the mark. */
  markedDone(secret: SecretRef): void {
    this.marked.set(key(secret), secret);
  }
}

// Observe legacy token Secrets in the selected namespaces without touching them:
// the offline verdict on each token (checked against the keys the API server
// publishes when the cache saw it), whether ca.crt matches the namespace's
// kube-root-ca.crt, what is being deleted, the legacy-token cleaner's labels;
// the workloads whose pod templates use them and the running pods that read them.
import { createHash } from 'node:crypto';
import { ApiserverFlagsReader } from '../../kube/apiserver-flags.ts';
import { apiserverIdentityCache, apiserverInstances } from '../../kube/apiserver-identity.ts';
import { describeError } from '../../kube/errors.ts';
import type { PublishedKeys } from '../../kube/service-account-keys.ts';
import type { CacheHandle } from '../../kube/cache-spec.ts';
import { matchesSelector } from '../../kube/selector.ts';
import * as annotations from '../../api/annotations.ts';
import type { AreaContext } from '../area.ts';
import { isCanary } from './rotation/canary.ts';
import { JudgedSecrets, sameInputs, type FindingInputs } from './judged.ts';
import {
  daemonSetCache,
  deploymentCache,
  jobOwnersCache,
  namespaceCache,
  podReadersCache,
  replicaSetOwnersCache,
  rootCACache,
  serviceAccountCache,
  statefulSetCache,
  type TokenSecret,
  type Workload,
} from './caches.ts';
import type { DeletedTokenSecret, DeletedTokenSecrets } from './rotation/deleted-secrets.ts';
import { workloadId } from './types.ts';
import { restartKey, type RecentRestarts } from './restarts/record.ts';
import { rolloutAccess, rolloutCache, type RolloutAccess } from './restarts/rollouts.ts';
import type { RotationLedger, RotationProgress } from './rotation/ledger.ts';
import type { SecretRereader, TokenReviewer } from './rotation/validate.ts';
import { offlineVerdict, type TokenVerdict } from './rotation/verdict.ts';
import { sortedBy } from '../../kube/order.ts';

export interface SecretFinding {
  secret: TokenSecret;
  serviceAccount: 'ok' | 'missing' | 'uidMismatch';
  verdict: TokenVerdict;
  /** undefined: the namespace has no kube-root-ca.crt to compare with */
  staleCA: boolean | undefined;
  /** what of it is being deleted (a deletionTimestamp): never rotated, its dependents never restarted */
  terminating: 'Namespace' | 'Secret' | 'ServiceAccount' | undefined;
}

/** A running pod reading a token Secret, with its owner resolved to what could restart it. */
export interface TokenConsumer {
  pod: string;
  namespace: string;
  secret: string;
  how: string[];
  createdAt: string;
  /** e.g. "Deployment web", "ReplicaSet x (no Deployment)", "Job y of CronJob z", "none (bare Pod)" */
  owner: string;
  /** the workload a restart would roll (undefined: nothing the operator restarts owns it) */
  restartable: { kind: Workload['kind']; name: string } | undefined;
  /** owned by a CronJob's Job: the next Job reads the same-named Secret */
  cronJob: string | undefined;
  /** its owner opted out of restarts (authpolicy.io/restart), and why */
  optOut?: string | undefined;
  /** owned by a Rollout while Argo Rollouts cannot be read: not restarted now, restarted once they can be */
  rolloutUnread?: true;
}

/** What the tokens were judged with, and how fresh that is. */
export interface KeySource {
  /** published: offline against /openid/v1/jwks; tokenReview: keys unusable, reviewed; none: not judged */
  kind: 'published' | 'tokenReview' | 'none';
  /** how many published keys the verdicts rest on (0 when none are used) */
  keys: number;
  /** the last read of /openid/v1/jwks failed with this */
  error?: string | undefined;
  /** why the keys in hand were not used although some were read before (keyEvidence) */
  stale?: string | undefined;
  /** since when the keys in use have been the published set, as read (RFC 3339; re-read every 10 minutes) */
  keysSince?: string | undefined;
  /** the TokenReview fallback failed with this (said once for every Secret it left undecided) */
  reviewError?: string | undefined;
}

export interface LegacyTokensObservation {
  secrets: SecretFinding[];
  workloads: Workload[];
  consumers: TokenConsumer[];
  /** fingerprint of the running API-server instances */
  apiservers: string;
  /** how tokens were judged: offline against the published keys, or (keys unreadable) TokenReview */
  keySource: KeySource;
  /** --service-account-signing-endpoint (KEP-740) seen on a kube-apiserver static pod */
  externalSigning: string | undefined;
  now: number;
  /** whether Argo Rollouts could be read (undefined: not observed, as in plan tests) */
  rollouts?: RolloutAccess;
  /** token Secrets deleted while the operator watched that workloads still use (undefined: not observed) */
  deletedInUse?: DeletedInUse[];
  /** what this process wrote for rotations and awaits, against the Secret cache (undefined: nothing, as in plan tests) */
  progress?: RotationProgress;
  /** findings and verdicts kept across reconciles, each checked before use (undefined: none kept, as in plan tests) */
  judged?: JudgedSecrets;
}

/** A deleted token Secret and the workloads whose pod templates still name it. */
export interface DeletedInUse extends DeletedTokenSecret {
  /** e.g. deployment/apps/web */
  users: string[];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export function createObserver(
  rereader: SecretRereader,
  reviewer: TokenReviewer,
  recent: RecentRestarts,
  deleted: DeletedTokenSecrets,
  publishedKeys: PublishedKeys,
  secretCache: CacheHandle<TokenSecret>,
  ledger?: RotationLedger,
  flags: ApiserverFlagsReader = new ApiserverFlagsReader(),
  judged: JudgedSecrets = new JudgedSecrets(),
): (ctx: AreaContext) => Promise<LegacyTokensObservation> {
  const findings = judged.findings;
  return async (ctx) => {
    if (ctx.mode === 'run') deleted.watch(ctx.cache(secretCache));
    const spec = ctx.spec.legacyTokens;
    const namespaces = new Map(
      ctx
        .cache(namespaceCache)
        .list()
        .map((n) => [n.metadata.name, { ...n.metadata, restart: n.restart }]),
    );
    // Asked for every Secret, workload and pod: once per namespace.
    const chosen = new Map<string, boolean>();
    const selected = (ns: string): boolean => {
      let yes = chosen.get(ns);
      if (yes === undefined) chosen.set(ns, (yes = matchesSelector(spec.namespaceSelector, namespaces.get(ns)?.labels ?? {})));
      return yes;
    };
    const accounts = ctx.cache(serviceAccountCache);
    const roots = ctx.cache(rootCACache);
    const instances = apiserverInstances(ctx.cache(apiserverIdentityCache).list());
    const evidence = await publishedKeys.evidence(ctx.client, instances, () => ctx.now().getTime());
    // Keys that can no longer be confirmed prove nothing: every token is judged as if none were known.
    const keys = evidence.keys;
    if (evidence.error)
      ctx.log.warn('cannot read the published service-account keys', { path: '/openid/v1/jwks', error: evidence.error, stale: evidence.stale });
    const useReview = keys === undefined;
    // The canary act creates to prove the tokens controller works is the operator's own, not a user's token.
    const tokenSecrets = sortedBy(
      ctx
        .cache(secretCache)
        .list()
        .filter((s) => selected(s.metadata.namespace) && !isCanary(s.metadata.name)),
      (s) => `${s.metadata.namespace}/${s.metadata.name}`,
    );
    const secrets: SecretFinding[] = [];
    let reviewError: string | undefined;
    for (const secret of tokenSecrets) {
      const ns = secret.metadata.namespace;
      const sa = accounts.get(secret.serviceAccountName, ns);
      const claimed = secret.token?.serviceAccountName ? accounts.get(secret.token.serviceAccountName, secret.token.namespace ?? ns) : sa;
      const root = roots.get('kube-root-ca.crt', ns);
      const inputs: FindingInputs = { sa, claimed, root, keysVersion: keys?.version, namespaceDeleted: namespaces.get(ns)?.deletionTimestamp };
      const kept = findings.get(secret);
      if (kept && sameInputs(kept.inputs, inputs)) {
        secrets.push(kept.finding);
        continue;
      }
      const serviceAccount = !sa ? 'missing' : secret.serviceAccountUid && sa.metadata.uid !== secret.serviceAccountUid ? 'uidMismatch' : 'ok';
      const account = claimed ? { uid: claimed.metadata.uid, deletionTimestamp: claimed.metadata.deletionTimestamp } : undefined;
      let verdict = offlineVerdict(secret, account, keys);
      // Judged from the cache alone: kept for as long as what it was judged from is unchanged (not a re-read or a review).
      const offline = verdict.validity !== 'undecided';
      if (verdict.validity === 'undecided' && keys) {
        // The keys changed since the cache saw this token: judge it again from one fresh read.
        verdict = offlineVerdict(secret, account, keys, await rereader.facts(secret, keys.version));
      } else if (verdict.validity === 'undecided' && offlineVerdict(secret, account, keys, secret.token, true).validity === 'valid') {
        // No published keys to check against: only a token every other check accepts is reviewed.
        // One failure stays one: once a review failed, the rest of this pass is not reviewed (not a read and a
        // review per Secret); those Secrets stay undecided, the others are still judged, and the cause is said once.
        if (reviewError === undefined) {
          try {
            verdict =
              (await reviewer.verdict(
                secret,
                instances,
                `system:serviceaccount:${ns}:${secret.token?.serviceAccountName ?? secret.serviceAccountName}`,
                ctx.now().getTime(),
              )) ?? verdict;
          } catch (err) {
            reviewError = describeError(err);
          }
        }
        if (reviewError !== undefined) verdict = { ...verdict, detail: `${verdict.detail}, and the TokenReview fallback failed` };
      }
      const terminating = inputs.namespaceDeleted
        ? 'Namespace'
        : secret.metadata.deletionTimestamp
          ? 'Secret'
          : sa?.metadata.deletionTimestamp
            ? 'ServiceAccount'
            : undefined;
      const finding: SecretFinding = {
        secret,
        serviceAccount,
        verdict,
        terminating,
        staleCA: root?.caHash === undefined || secret.caHash === undefined ? undefined : root.caHash !== secret.caHash,
      };
      if (offline) findings.set(secret, { inputs, finding });
      else findings.delete(secret);
      secrets.push(finding);
    }
    const rollouts = rolloutAccess(ctx, spec.workloadKinds);
    // Rollouts count only once their cache is read: else their pods are reported as not restarted.
    const kinds = new Set(spec.workloadKinds.filter((k) => k !== 'Rollout' || rollouts.state === 'ready'));
    const workloads = [deploymentCache, statefulSetCache, daemonSetCache, ...(rollouts.state === 'ready' ? [rolloutCache] : [])]
      .flatMap((c) => ctx.cache(c).list())
      // A namespace being deleted takes its workloads with it: never restarted.
      .filter((w) => kinds.has(w.kind) && selected(w.metadata.namespace) && w.secrets.length > 0 && !namespaces.get(w.metadata.namespace)?.deletionTimestamp)
      .map((cached) => {
        let w = cached;
        const why = restartOptOut(w, namespaces.get(w.metadata.namespace));
        if (why) w = { ...w, optOut: why };
        const key = restartKey(w.kind, w.metadata.namespace, w.metadata.name);
        const mine = recent.get(key);
        if (!mine) return w;
        if (w.metadata.generation >= mine.generation) {
          recent.delete(key);
          return w;
        }
        return { ...w, restartedAt: mine.restartedAt, restartedFor: mine.rotations, templateIsOurs: true, rolloutComplete: false };
      });
    const deletedInUse = deletedStillUsed(deleted, workloads);
    const optedOut = new Map(workloads.flatMap((w) => (w.optOut ? [[`${w.kind}/${w.metadata.namespace}/${w.metadata.name}`, w.optOut] as const] : [])));
    const unread = rollouts.state === 'unreadable' || rollouts.state === 'listing';
    const consumers = tokenConsumers(ctx, new Set(secrets.map((f) => `${f.secret.metadata.namespace}/${f.secret.metadata.name}`)), kinds, optedOut, unread);
    let externalSigning: string | undefined;
    try {
      externalSigning = (await flags.read(ctx.client, ctx.now().getTime())).signingEndpoint;
    } catch (err) {
      ctx.log.debug('kube-apiserver flags not readable', { error: describeError(err) });
    }
    return {
      secrets,
      workloads,
      consumers,
      externalSigning,
      rollouts,
      deletedInUse,
      judged,
      ...(ledger ? { progress: ledger.progress(ctx.cache(secretCache)) } : {}),
      keySource: {
        kind: keys ? 'published' : useReview && secrets.some((f) => f.verdict.source === 'tokenReview') ? 'tokenReview' : 'none',
        keys: keys?.keys.length ?? 0,
        error: evidence.error,
        ...(evidence.stale ? { stale: evidence.stale } : {}),
        ...(evidence.sinceMs !== undefined ? { keysSince: new Date(evidence.sinceMs).toISOString() } : {}),
        ...(reviewError ? { reviewError } : {}),
      },
      apiservers: createHash('sha256').update(instances).digest('hex').slice(0, 12),
      now: ctx.now().getTime(),
    };
  };
}

/** The deleted token Secrets a workload's pod template still names, with those workloads. */
function deletedStillUsed(deleted: DeletedTokenSecrets, workloads: readonly Workload[]): DeletedInUse[] {
  const users = new Map<string, string[]>();
  for (const w of workloads)
    for (const name of new Set(w.secrets)) {
      const id = `${w.metadata.namespace}/${name}`;
      users.set(id, [...(users.get(id) ?? []), workloadId(w)]);
    }
  return deleted.stillUsed((id) => users.has(id)).map((d) => ({ ...d, users: users.get(d.secret) ?? [] }));
}

/**
 * Why a workload is not restarted, from the authpolicy.io/restart annotation: "false" on the workload,
 * or "false" on its namespace unless the workload says "true". undefined: it is restarted.
 */
export function restartOptOut(
  w: Pick<Workload, 'kind' | 'restart'>,
  namespace: { name: string; restart?: string | undefined } | undefined,
): string | undefined {
  if (w.restart === 'false') return `${annotations.RESTART}: "false" on the ${w.kind}`;
  if (w.restart !== 'true' && namespace?.restart === 'false') return `${annotations.RESTART}: "false" on namespace ${namespace.name}`;
  return undefined;
}

/** Running pods reading the selected token Secrets, each with the owner that could (or could not) restart it. */
function tokenConsumers(
  ctx: AreaContext,
  tokenSecrets: Set<string>,
  kinds: Set<string>,
  optedOut: Map<string, string>,
  rolloutsUnread: boolean,
): TokenConsumer[] {
  const replicaSets = ctx.cache(replicaSetOwnersCache);
  const jobs = ctx.cache(jobOwnersCache);
  const out: TokenConsumer[] = [];
  for (const p of ctx.cache(podReadersCache).list()) {
    const ns = p.metadata.namespace;
    const reads = p.reads.filter((r) => tokenSecrets.has(`${ns}/${r.secret}`));
    if (reads.length === 0) continue;
    let owner = 'none (bare Pod)';
    let restartable: TokenConsumer['restartable'];
    let cronJob: string | undefined;
    let rolloutUnread = false;
    const o = p.owner;
    if (o?.kind === 'ReplicaSet') {
      const parent = replicaSets.get(o.name, ns)?.owner;
      if (parent?.kind === 'Deployment' || parent?.kind === 'Rollout') {
        owner = `${parent.kind} ${parent.name}`;
        if (kinds.has(parent.kind)) restartable = { kind: parent.kind, name: parent.name };
        rolloutUnread = parent.kind === 'Rollout' && rolloutsUnread;
      } else owner = `ReplicaSet ${o.name} (${parent ? `owned by ${parent.kind} ${parent.name}` : 'no Deployment'})`;
    } else if (o?.kind === 'Job') {
      const parent = jobs.get(o.name, ns)?.owner;
      if (parent?.kind === 'CronJob') {
        owner = `Job ${o.name} of CronJob ${parent.name}`;
        cronJob = parent.name;
      } else owner = `Job ${o.name}`;
    } else if (o && WORKLOAD_KINDS.has(o.kind)) {
      owner = `${o.kind} ${o.name}`;
      if (kinds.has(o.kind)) restartable = { kind: o.kind as Workload['kind'], name: o.name };
    } else if (o) {
      owner = `${o.kind} ${o.name}`;
    }
    // An opted-out owner is not restarted: its pods wait for a manual restart like a bare Pod's.
    const optOut = restartable ? optedOut.get(`${restartable.kind}/${ns}/${restartable.name}`) : undefined;
    if (optOut) restartable = undefined;
    for (const r of reads)
      out.push({
        pod: p.metadata.name,
        namespace: ns,
        secret: r.secret,
        how: r.how,
        createdAt: p.metadata.creationTimestamp,
        owner,
        restartable,
        cronJob,
        ...(optOut ? { optOut } : {}),
        ...(rolloutUnread ? { rolloutUnread: true as const } : {}),
      });
  }
  return sortedBy(out, (c) => `${c.namespace}/${c.pod}/${c.secret}`);
}

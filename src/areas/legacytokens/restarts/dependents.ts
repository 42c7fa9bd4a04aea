// Who depends on a token Secret: the workloads whose pod templates use it (restarted after a
// rotation unless opted out) and the running pods that still hold a token replaced since
// they started. Written once here, read by restarts, conditions, findings and summary.
import type { RestartDependents } from '../../../api/defaults.ts';
import type { TokenSecret, Workload } from '../caches.ts';
import type { LegacyTokensObservation, TokenConsumer } from '../observe.ts';
import { id, restartCommand, workloadId, type ManualRestart } from '../types.ts';

type SecretName = { namespace: string; name: string };

export interface Dependents {
  /** every workload whose pod template uses the Secret */
  usersOf: (s: SecretName) => Workload[];
  /** the users the operator restarts after a rotation: opted-out ones (authpolicy.io/restart: "false") wait for a manual restart */
  dependentsOf: (s: SecretName) => Workload[];
  optedOutOf: (s: SecretName) => Workload[];
  /**
   * The dependents a rotation of the Secret restarts, and those it leaves to the kubelet (restartDependents
   * NotRefreshable: they read it only through a Secret or projected volume without subPath, which the kubelet
   * rewrites in place), each with why.
   */
  splitOf: (s: SecretName) => DependentSplit;
  /** a running pod reading a Secret whose token was replaced since the pod started: it holds a token that no longer works */
  holdsDeadToken: (c: TokenConsumer) => boolean;
  deadHoldersOf: (s: TokenSecret) => TokenConsumer[];
  secretsById: Map<string, TokenSecret>;
}

export interface DependentSplit {
  restart: { w: Workload; why: string }[];
  leftToKubelet: { w: Workload; why: string }[];
}

/** Why a dependent left to the kubelet needs no restart (in status, per rotation). */
export const REFRESHED_IN_PLACE = 'reads it only through a Secret or projected volume without subPath: the kubelet rewrites the file in place';
const READS_UNKNOWN = 'how it reads the Secret is not known';

/** Items grouped by the Secret they read (namespace/name), in their original order. */
function bySecret<T>(items: readonly T[], secretsOf: (item: T) => readonly string[], namespaceOf: (item: T) => string): Map<string, T[]> {
  const index = new Map<string, T[]>();
  for (const item of items) {
    const names = secretsOf(item);
    for (const [i, name] of names.entries()) {
      if (names.indexOf(name) !== i) continue; // a Secret read twice by one pod template counts once
      const key = `${namespaceOf(item)}/${name}`;
      const list = index.get(key);
      if (list) list.push(item);
      else index.set(key, [item]);
    }
  }
  return index;
}

/** Built once per plan: every lookup is by index, so a plan stays linear in Secrets, workloads and pods (5,000 × 10,000 at scale). */
export function dependentsIn(observation: LegacyTokensObservation, restartDependents: RestartDependents = 'All'): Dependents {
  const users = bySecret(
    observation.workloads,
    (w) => w.secrets,
    (w) => w.metadata.namespace,
  );
  const consumers = bySecret(
    observation.consumers,
    (c) => [c.secret],
    (c) => c.namespace,
  );
  const usersOf = (s: SecretName): Workload[] => users.get(`${s.namespace}/${s.name}`) ?? [];
  const secretsById = new Map(observation.secrets.map((f) => [id(f.secret), f.secret]));
  // When each Secret's token was replaced, parsed once: asked of every running pod (10,000 at scale).
  const replacedAt = new Map<string, number>();
  for (const [key, s] of secretsById) if (s.rotatedAt !== undefined && s.tokenHash !== s.rotatedFrom) replacedAt.set(key, Date.parse(s.rotatedAt));
  const holdsDeadToken = (c: TokenConsumer): boolean => {
    const at = replacedAt.get(`${c.namespace}/${c.secret}`);
    return at !== undefined && Date.parse(c.createdAt) < at;
  };
  const dependentsOf = (s: SecretName): Workload[] => usersOf(s).filter((w) => !w.optOut);
  const splits = new Map<string, DependentSplit>();
  const splitOf = (s: SecretName): DependentSplit => {
    const key = `${s.namespace}/${s.name}`;
    const known = splits.get(key);
    if (known) return known;
    const split: DependentSplit = { restart: [], leftToKubelet: [] };
    splits.set(key, split);
    for (const w of dependentsOf(s)) {
      const how = w.unrefreshedReads?.[s.name];
      if (restartDependents === 'All') split.restart.push({ w, why: 'restartDependents: All' });
      else if (w.unrefreshedReads === undefined) split.restart.push({ w, why: READS_UNKNOWN });
      else if (how?.length) split.restart.push({ w, why: how.join(', ') });
      else split.leftToKubelet.push({ w, why: REFRESHED_IN_PLACE });
    }
    return split;
  };
  return {
    usersOf,
    dependentsOf,
    splitOf,
    optedOutOf: (s) => usersOf(s).filter((w) => w.optOut),
    holdsDeadToken,
    deadHoldersOf: (s) => (consumers.get(`${s.metadata.namespace}/${s.metadata.name}`) ?? []).filter(holdsDeadToken),
    secretsById,
  };
}

/**
 * Of the running pods holding a replaced token, those no restart by the operator replaces: pods with no owner it
 * restarts, and pods whose owner it would restart now but was not restarted for the Secret's rotation, which has
 * closed (the owner became restartable since: its kind added to workloadKinds, its opt-out removed). A pod whose
 * owner is being restarted for a rotation under way (`pending`: Secret ids), was restarted for it, or is left to the
 * kubelet (restartDependents NotRefreshable: it reads the new token in place) is not one.
 */
export function unreplacedHolders(deps: Dependents, dead: readonly TokenConsumer[], pending: ReadonlySet<string>): TokenConsumer[] {
  return dead.filter((c) => {
    const owner = c.restartable;
    if (!owner) return true;
    const secret = { namespace: c.namespace, name: c.secret };
    if (pending.has(`${c.namespace}/${c.secret}`)) return false;
    const isOwner = (w: Workload): boolean => w.kind === owner.kind && w.metadata.name === owner.name;
    const rotation = deps.secretsById.get(`${c.namespace}/${c.secret}`)?.rotation;
    if (deps.usersOf(secret).some((w) => isOwner(w) && rotation !== undefined && w.restartedFor.includes(rotation))) return false;
    return !deps.splitOf(secret).leftToKubelet.some((d) => isOwner(d.w));
  });
}

/** An opted-out workload whose Secret's token was replaced after its last restart (or creation): restart it by hand. */
export function manualRestarts(observation: LegacyTokensObservation, secretsById: Map<string, TokenSecret>): ManualRestart[] {
  return observation.workloads.flatMap((w) => {
    if (!w.optOut) return [];
    const since = Math.max(Date.parse(w.lastRestartAt ?? '') || 0, Date.parse(w.metadata.creationTimestamp ?? '') || 0);
    const replaced = w.secrets.filter((name) => {
      const s = secretsById.get(`${w.metadata.namespace}/${name}`);
      return s?.rotatedAt !== undefined && s.tokenHash !== s.rotatedFrom && Date.parse(s.rotatedAt) > since;
    });
    return replaced.length
      ? [
          {
            workload: workloadId(w),
            secret: replaced.join(', '),
            optOut: w.optOut,
            note: `restart it yourself: ${restartCommand({ kind: w.kind, name: w.metadata.name }, w.metadata.namespace)}`,
          },
        ]
      : [];
  });
}

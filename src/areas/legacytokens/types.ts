// What the legacy-token plan hands to act and to status: the actions, the plan, the
// state kept in status, and the names objects go by in messages.
import type { AreaReport } from '../area.ts';
import type { TokenSecret, Workload } from './caches.ts';
import type { TokenConsumer } from './observe.ts';
import type { RotationStep } from './rotation/pace.ts';

export type Trigger = 'InvalidToken' | 'StaleCA' | 'MaxAge' | 'Requested';

export interface SecretRef {
  namespace: string;
  name: string;
  resourceVersion: string | undefined;
}

export type LegacyTokensAction =
  | { kind: 'rotate'; secret: SecretRef; rotation: string; triggers: Trigger[]; request: string | undefined; tokenHash: string | undefined; apiservers: string }
  | { kind: 'revive'; secret: SecretRef }
  /** the canary Secret that proves the tokens controller, in the operator's namespace (act names it) */
  | { kind: 'createCanary'; namespace: string }
  | { kind: 'deleteCanary'; namespace: string; name: string }
  | {
      kind: 'restart';
      /** template: the cache's templateFingerprint of it, recorded by the restart */
      workload: { kind: Workload['kind']; namespace: string; name: string; template?: string | undefined };
      rotations: string[];
    }
  | {
      kind: 'finish';
      secret: SecretRef;
      rotation: string;
      restarted: string[];
      notRestarted: string[];
      restartsDisabled: boolean;
      /** dependents not restarted because the kubelet refreshes their Secret volume in place (restartDependents: NotRefreshable) */
      leftToKubelet?: string[];
    };

export type RotateAction = Extract<LegacyTokensAction, { kind: 'rotate' }>;

export interface LegacyTokensPlan {
  /** everything the rules call for (revive, rotate, restart, finish), in order; `step.writes` is what this reconcile writes of it */
  actions: LegacyTokensAction[];
  dryRun: boolean;
  /** Secrets a rotation blanked that the tokens controller has not refilled yet */
  awaitingRefill: { namespace: string; name: string; rotatedAt: string | undefined }[];
  /** rotations whose Secret was refilled (their restarts may still be under way): the tokens controller works */
  refilledRotations: number;
  /** this reconcile's step: the canary gate, the batch of blanks, and every write act makes, in order */
  step: RotationStep;
  report: AreaReport;
}

export interface RotationRequestSeen {
  requestedAt: string;
  firstSeenAt: string;
}

/** Prior state this area keeps in status (the one-shot trigger it already acted on). */
export interface LegacyTokensMemory {
  lastRotationRequest?: string;
  /** the rotation request this operator saw, and when it first saw it (a Secret created since is not rotated for it) */
  rotationRequest?: RotationRequestSeen;
  /** restartDependents NotRefreshable: per rotation, the dependents restarted and those left to the kubelet, and why */
  rotationRestarts?: RotationRestarts[];
  /** the tokens controller failed to fill a Secret in time (the rotation gate held) */
  tokenControllerUnavailable?: string;
}

/** One rotation's dependents: restarted (or to be), and left to the kubelet's in-place refresh, each with why. */
export interface RotationRestarts {
  rotation: string;
  secret: string;
  restart: string[];
  leftToKubelet: string[];
}

/** A workload opted out of restarts that holds a replaced token: listed in status.legacyTokens.notRestarted. */
export interface ManualRestart {
  workload: string;
  secret: string;
  optOut: string;
  note: string;
}

export const ref = (s: TokenSecret): SecretRef => ({ namespace: s.metadata.namespace, name: s.metadata.name, resourceVersion: s.metadata.resourceVersion });
export const id = (s: { metadata: { namespace: string; name: string } }): string => `${s.metadata.namespace}/${s.metadata.name}`;
export const refId = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;
/** How to restart a workload by hand (a Rollout through the Argo Rollouts kubectl plugin). */
export const restartCommand = (w: { kind: string; name: string }, namespace: string): string =>
  w.kind === 'Rollout'
    ? `kubectl argo rollouts restart ${w.name} -n ${namespace}`
    : `kubectl rollout restart ${w.kind.toLowerCase()}/${w.name} -n ${namespace}`;
export const workloadId = (w: Workload): string => `${w.kind.toLowerCase()}/${w.metadata.namespace}/${w.metadata.name}`;
export const consumerView = (c: TokenConsumer): Record<string, string> => ({
  pod: `${c.namespace}/${c.pod}`,
  owner: c.owner,
  secret: c.secret,
  reads: c.how.join(', '),
  ...(c.optOut ? { optOut: c.optOut } : {}),
  ...(c.cronJob ? { note: `CronJob ${c.cronJob} needs no restart: its next Job reads the re-issued token` } : {}),
});
export const consumerId = (c: TokenConsumer): string => `pod ${c.namespace}/${c.pod} (${c.owner}; ${c.how.join(', ')} of ${c.secret})`;
/** The first five, then how many more: every list in a message is bounded. */
export const list = (xs: string[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
/** A rotation as findings and events name it: the Secret and its triggers. */
export const rotationText = (a: RotateAction, separator = ', '): string => `${a.secret.namespace}/${a.secret.name} (${a.triggers.join(separator)})`;

// The AuthPolicy API (authpolicy.io/v1alpha1). crds/authpolicy.yaml is the one
// source of the schema; these types follow it and defaults.ts mirrors its defaults.
import type { Condition } from './conditions.ts';

export const GROUP = 'authpolicy.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'AuthPolicy';
export const PLURAL = 'authpolicies';

export type NodeAuthorizationMode = 'NodeAuthorizer' | 'LegacyBinding' | 'Unmanaged';
export type RotationTrigger = 'InvalidToken' | 'StaleCA' | 'MaxAge';
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
export type Weekday = 'Sun' | 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat';

/** When restarts may run: wall-clock start and end (HH:MM, end before start: across midnight) in an IANA zone. */
export interface RestartWindowSpec {
  /** the days the window opens on (default: every day) */
  days?: Weekday[];
  start: string;
  end: string;
  /** IANA time zone, such as Europe/Berlin (default UTC) */
  timeZone?: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NodeAuthorizationSpec {
  mode?: NodeAuthorizationMode;
  legacyBindingFallback?: boolean;
  /** how many Nodes the SubjectAccessReview probe samples (NotReady ones first) */
  probeNodes?: number;
  /** test NodeRestriction by behaviour: a dry-run patch of another Node as a dedicated kubelet identity (needs config/components/noderestriction-probe) */
  probeNodeRestriction?: boolean;
}

export interface LegacyTokensSpec {
  namespaceSelector?: LabelSelector;
  rotateOn?: RotationTrigger[];
  maxAge?: string;
  /** one-shot GitOps trigger: rotate every selected token once when this timestamp changes */
  rotationRequestedAt?: string;
  /** remove kubernetes.io/legacy-token-invalid-since so a token the cleaner invalidated works again */
  reviveInvalidated?: boolean;
  restartWorkloads?: boolean;
  workloadKinds?: WorkloadKind[];
  maxConcurrentRestarts?: number;
  rolloutTimeout?: string;
  tokenControllerTimeout?: string;
  /** restarts wait for one of these windows (rotations do not); empty or absent: any time */
  restartWindows?: RestartWindowSpec[];
  /** emergency override: rotations made up to this RFC 3339 timestamp restart at once, whatever the windows */
  restartNow?: string;
}

export interface ClockSpec {
  maxSkew?: string;
}

export interface BoundTokensSpec {
  /** report pods that mount legacy token Secrets */
  reportLegacyMounts?: boolean;
}

export interface AuthPolicySpec {
  dryRun?: boolean;
  nodeAuthorization?: NodeAuthorizationSpec;
  legacyTokens?: LegacyTokensSpec;
  clock?: ClockSpec;
  boundTokens?: BoundTokensSpec;
}

export interface AuthPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** per-area summaries: small, bounded lists (worst offenders first) */
  nodeAuthorization?: Record<string, unknown>;
  legacyTokens?: Record<string, unknown>;
  clock?: Record<string, unknown>;
  boundTokens?: Record<string, unknown>;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface AuthPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec?: AuthPolicySpec;
  status?: AuthPolicyStatus;
}

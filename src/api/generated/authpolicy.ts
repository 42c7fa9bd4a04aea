// Generated from crds/authpolicy.yaml (authpolicy.io/v1alpha1) by scripts/generate-api-types.ts: do not edit.
// After changing the CRD, run `npm run generate` (test/unit/api/generated-types.test.ts fails until you do).
// src/api/types.ts re-exports these types; src/api/defaults.ts reads SPEC_FIELDS.

/** The resource, as the CRD names it. */
export const GROUP = 'authpolicy.io';
export const VERSION = 'v1alpha1';
export const KIND = 'AuthPolicy';
export const PLURAL = 'authpolicies';

/** Every section is optional; omitted fields take safe defaults. */
export interface AuthPolicySpec {
  /**
   * Observe and report what would change; write nothing but status and events.
   * @default false
   */
  dryRun?: boolean;
  /**
   * Kubelet authorization (the kubelets-forbidden incident) - the Node authorizer versus the legacy system:node
   * ClusterRoleBinding.
   * @default {}
   */
  nodeAuthorization?: NodeAuthorizationSpec;
  /**
   * Legacy kubernetes.io/service-account-token Secrets (the dead-legacy-token incident) - validate, rotate in place,
   * restart dependents.
   * @default {}
   */
  legacyTokens?: LegacyTokensSpec;
  /**
   * Clock skew between kubelets, API servers and the operator (the clock-skew incident).
   * @default {}
   */
  clock?: ClockSpec;
  /**
   * Bound service-account token health (the token-expiry-extension incident) - stale tokens and legacy mounts.
   * @default {}
   */
  boundTokens?: BoundTokensSpec;
}

/**
 * Kubelet authorization (the kubelets-forbidden incident) - the Node authorizer versus the legacy system:node
 * ClusterRoleBinding.
 */
export interface NodeAuthorizationSpec {
  /**
   * NodeAuthorizer: expect the Node authorizer and remove the legacy binding once it is confirmed. LegacyBinding:
   * keep the legacy binding in its exact shape. Unmanaged: report only.
   * @default "NodeAuthorizer"
   */
  mode?: NodeAuthorizationMode;
  /**
   * In NodeAuthorizer mode, create the legacy binding while the Node authorizer is missing, so kubelets recover now.
   * @default false
   */
  legacyBindingFallback?: boolean;
  /**
   * How many Nodes the SubjectAccessReview probe samples (NotReady ones first); the answer does not depend on the
   * node.
   * Schema: from 1 to 50.
   * @default 3
   */
  probeNodes?: number;
  /**
   * Test the NodeRestriction admission plugin by behaviour: impersonate system:node:authpolicy-noderestriction-probe
   * and send a dry-run (nothing is stored) label patch to another Node, at most every 5 minutes. Needs the
   * impersonation RBAC of config/components/noderestriction-probe (Helm: nodeRestrictionProbe.enabled).
   * @default false
   */
  probeNodeRestriction?: boolean;
}

/**
 * NodeAuthorizer: expect the Node authorizer and remove the legacy binding once it is confirmed. LegacyBinding: keep
 * the legacy binding in its exact shape. Unmanaged: report only.
 */
export type NodeAuthorizationMode = 'NodeAuthorizer' | 'LegacyBinding' | 'Unmanaged';

/**
 * Legacy kubernetes.io/service-account-token Secrets (the dead-legacy-token incident) - validate, rotate in place,
 * restart dependents.
 */
export interface LegacyTokensSpec {
  /** Which namespaces' Secrets are managed (a label selector; empty selects all). */
  namespaceSelector?: LabelSelector;
  /**
   * Which findings rotate a token (empty - only rotationRequestedAt rotates). A token that still authenticates is
   * only rotated by StaleCA, MaxAge or rotationRequestedAt.
   * Schema: at most 3 items.
   * @default ["InvalidToken","StaleCA"]
   */
  rotateOn?: RotationTrigger[];
  /**
   * With rotateOn MaxAge, rotate tokens whose Secret is older than this (Go duration, at least 1h).
   * Schema: at most 32 characters.
   */
  maxAge?: string;
  /**
   * One-shot GitOps trigger: set or change this RFC 3339 timestamp to rotate every selected token once. The operator
   * records the value it acted on in status.legacyTokens.lastRotationRequest.
   * Schema: format date-time.
   */
  rotationRequestedAt?: string;
  /**
   * Remove the kubernetes.io/legacy-token-invalid-since label the legacy-token cleaner set, re-enabling those tokens.
   * @default false
   */
  reviveInvalidated?: boolean;
  /**
   * After rotating a Secret, roll out the Deployments, StatefulSets and DaemonSets whose pod template uses it.
   * @default true
   */
  restartWorkloads?: boolean;
  /**
   * Which dependents of a rotated Secret are restarted. All: every workload whose pod template uses it.
   * NotRefreshable: only those that cannot see the new token without a new Pod (env or envFrom, or a subPath mount of
   * its volume); a workload that reads it only through a Secret or projected volume without subPath is left to the
   * kubelet, which rewrites the mounted file in place (within about a minute), and
   * status.legacyTokens.rotationRestarts says which were left and why.
   * @default "All"
   */
  restartDependents?: 'All' | 'NotRefreshable';
  /**
   * Which kinds of workload are restarted after a rotation (empty needs restartWorkloads false). Rollout (Argo
   * Rollouts) is restarted through its spec.restartAt, never a template change.
   * Schema: at most 4 items.
   * @default ["Deployment","StatefulSet","DaemonSet"]
   */
  workloadKinds?: WorkloadKind[];
  /**
   * At most this many rollouts run at once; each is awaited (or rolloutTimeout) before more start.
   * Schema: from 1 to 100.
   * @default 1
   */
  maxConcurrentRestarts?: number;
  /**
   * Schema: at most 32 characters.
   * @default "10m"
   */
  rolloutTimeout?: string;
  /**
   * How long a rotated Secret may wait for kube-controller-manager's tokens controller to refill it.
   * Schema: at most 32 characters.
   * @default "60s"
   */
  tokenControllerTimeout?: string;
  /**
   * When restarts may run (rotations always run at once). Absent or empty: any time. Outside every window restarts
   * wait; status.legacyTokens.restartWindow says when the next one opens.
   * Schema: at most 16 items.
   */
  restartWindows?: RestartWindowSpec[];
  /**
   * Emergency override of restartWindows: rotations made up to this RFC 3339 timestamp restart at once (paced as
   * usual). Set it to now; rotationRequestedAt's own rotation also restarts at once.
   * Schema: format date-time.
   */
  restartNow?: string;
}

/** Which namespaces' Secrets are managed (a label selector; empty selects all). */
export interface LabelSelector {
  /** Schema: at most 64 entries. */
  matchLabels?: Record<string, string>;
  /** Schema: at most 32 items. */
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  /** Schema: at least 1 characters; at most 317 characters. */
  key: string;
  operator: LabelSelectorOperator;
  /** Schema: at most 64 items. */
  values?: string[];
}

export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export type RotationTrigger = 'InvalidToken' | 'StaleCA' | 'MaxAge';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout';

export interface RestartWindowSpec {
  /**
   * Days the window opens on, in its time zone (default every day); a window across midnight ends the next morning.
   * Schema: at most 7 items.
   */
  days?: Weekday[];
  /**
   * Wall-clock opening time, HH:MM (24 h).
   * Schema: at most 5 characters; pattern `^([01][0-9]|2[0-3]):[0-5][0-9]$`.
   */
  start: string;
  /**
   * Wall-clock closing time, HH:MM (24 h); earlier than start means the next day.
   * Schema: at most 5 characters; pattern `^([01][0-9]|2[0-3]):[0-5][0-9]$`.
   */
  end: string;
  /**
   * IANA time zone such as Europe/Berlin (DST follows the zone's rules); default UTC.
   * Schema: at most 64 characters; pattern `^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`.
   * @default "UTC"
   */
  timeZone?: string;
}

export type Weekday = 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun';

/** Clock skew between kubelets, API servers and the operator (the clock-skew incident). */
export interface ClockSpec {
  /**
   * ClockSynchronized turns False when any measured offset exceeds this (1s to 60s - beyond the API server's 60s JWT
   * leeway tokens already fail).
   * Schema: at most 32 characters.
   * @default "30s"
   */
  maxSkew?: string;
}

/** Bound service-account token health (the token-expiry-extension incident) - stale tokens and legacy mounts. */
export interface BoundTokensSpec {
  /**
   * Report pods that still mount legacy token Secrets instead of projected tokens.
   * @default true
   */
  reportLegacyMounts?: boolean;
}

export interface AuthPolicyStatus {
  /** Schema: at least 0; format int64. */
  observedGeneration?: number;
  /** Schema: at most 16 items. */
  conditions?: AuthPolicyCondition[];
  nodeAuthorization?: Record<string, unknown>;
  legacyTokens?: Record<string, unknown>;
  clock?: Record<string, unknown>;
  boundTokens?: Record<string, unknown>;
}

export interface AuthPolicyCondition {
  /** Schema: at most 316 characters. */
  type: string;
  status: ConditionStatus;
  /** Schema: at most 1024 characters; pattern `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`. */
  reason: string;
  /** Schema: at most 32768 characters. */
  message: string;
  /** Schema: format date-time. */
  lastTransitionTime: string;
  /** Schema: at least 0; format int64. */
  observedGeneration?: number;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/**
 * Every spec field that declares a default, an enum or a bound, by path (`[]`: a list's items, `{}`: a map's values).
 * CEL rules (x-kubernetes-validations) are not here: src/api/validate.ts ports them from the CRD itself.
 */
export const SPEC_FIELDS = {
  'spec.dryRun': { default: false },
  'spec.nodeAuthorization': { default: {} },
  'spec.nodeAuthorization.mode': { default: 'NodeAuthorizer', enum: ['NodeAuthorizer', 'LegacyBinding', 'Unmanaged'] },
  'spec.nodeAuthorization.legacyBindingFallback': { default: false },
  'spec.nodeAuthorization.probeNodes': { default: 3, minimum: 1, maximum: 50 },
  'spec.nodeAuthorization.probeNodeRestriction': { default: false },
  'spec.legacyTokens': { default: {} },
  'spec.legacyTokens.namespaceSelector.matchLabels': { maxProperties: 64 },
  'spec.legacyTokens.namespaceSelector.matchLabels{}': { maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
  'spec.legacyTokens.namespaceSelector.matchExpressions': { maxItems: 32 },
  'spec.legacyTokens.namespaceSelector.matchExpressions[].key': { minLength: 1, maxLength: 317 },
  'spec.legacyTokens.namespaceSelector.matchExpressions[].operator': { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
  'spec.legacyTokens.namespaceSelector.matchExpressions[].values': { maxItems: 64 },
  'spec.legacyTokens.namespaceSelector.matchExpressions[].values[]': { maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
  'spec.legacyTokens.rotateOn': { default: ['InvalidToken', 'StaleCA'], maxItems: 3 },
  'spec.legacyTokens.rotateOn[]': { enum: ['InvalidToken', 'StaleCA', 'MaxAge'] },
  'spec.legacyTokens.maxAge': { maxLength: 32 },
  'spec.legacyTokens.rotationRequestedAt': { format: 'date-time' },
  'spec.legacyTokens.reviveInvalidated': { default: false },
  'spec.legacyTokens.restartWorkloads': { default: true },
  'spec.legacyTokens.restartDependents': { default: 'All', enum: ['All', 'NotRefreshable'] },
  'spec.legacyTokens.workloadKinds': { default: ['Deployment', 'StatefulSet', 'DaemonSet'], maxItems: 4 },
  'spec.legacyTokens.workloadKinds[]': { enum: ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'] },
  'spec.legacyTokens.maxConcurrentRestarts': { default: 1, minimum: 1, maximum: 100 },
  'spec.legacyTokens.rolloutTimeout': { default: '10m', maxLength: 32 },
  'spec.legacyTokens.tokenControllerTimeout': { default: '60s', maxLength: 32 },
  'spec.legacyTokens.restartWindows': { maxItems: 16 },
  'spec.legacyTokens.restartWindows[].days': { maxItems: 7 },
  'spec.legacyTokens.restartWindows[].days[]': { enum: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] },
  'spec.legacyTokens.restartWindows[].start': { maxLength: 5, pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
  'spec.legacyTokens.restartWindows[].end': { maxLength: 5, pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
  'spec.legacyTokens.restartWindows[].timeZone': { default: 'UTC', maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' },
  'spec.legacyTokens.restartNow': { format: 'date-time' },
  'spec.clock': { default: {} },
  'spec.clock.maxSkew': { default: '30s', maxLength: 32 },
  'spec.boundTokens': { default: {} },
  'spec.boundTokens.reportLegacyMounts': { default: true },
} as const;

// The marks the operator leaves, which are also its memory: a rotation's
// identity is written on the Secret in the same patch that blanks its token,
// and on each workload's pod template in the same apply that restarts it, so a
// resumed reconcile (after a crash or a leader change) neither skips nor
// repeats a restart.

/** On a Secret: the id of its last rotation. */
export const ROTATION = 'authpolicy.io/rotation';
/** On a Secret: "pending" until every dependent has been restarted for the rotation, then "done". */
export const ROTATION_STATE = 'authpolicy.io/rotation-state';
/** On a Secret: when its token was blanked for rotation (RFC 3339). */
export const ROTATED_AT = 'authpolicy.io/rotated-at';
/** On a Secret: the fingerprint of the token it had before the rotation (a re-issue identical to it means the signing keys disagree). */
export const ROTATED_FROM = 'authpolicy.io/rotated-from';
/** On a Secret: a fingerprint of the API-server instances it was rotated under (signing keys change only when they restart). */
export const ROTATED_UNDER = 'authpolicy.io/rotated-under';
/** On a Secret: the spec.legacyTokens.rotationRequestedAt value it was rotated for. */
export const ROTATED_FOR_REQUEST = 'authpolicy.io/rotated-for-request';
/** On a pod template: when the operator last restarted the workload (like kubectl rollout restart). */
export const RESTARTED_AT = 'authpolicy.io/restartedAt';
/** On a pod template: the rotation ids that restart was for, comma-separated. */
export const RESTARTED_FOR = 'authpolicy.io/restarted-for';
/**
 * On a workload (not its template): a fingerprint of the pod template the restart changed, less the operator's own two marks
 * (written in the restart's one apply); another means someone changed the template since.
 */
export const RESTARTED_TEMPLATE = 'authpolicy.io/restarted-template';

/** Kubernetes' own legacy-token cleaner (KEP-2799) marks these. */
export const LEGACY_TOKEN_LAST_USED = 'kubernetes.io/legacy-token-last-used';
export const LEGACY_TOKEN_INVALID_SINCE = 'kubernetes.io/legacy-token-invalid-since';
export const SA_NAME = 'kubernetes.io/service-account.name';
export const SA_UID = 'kubernetes.io/service-account.uid';

/** The field manager for restart annotations, separate from the operator's own so GitOps diffs name it. */
export const RESTART_FIELD_MANAGER = 'authpolicy-operator-restart';

/**
 * On a Deployment, StatefulSet, DaemonSet or Namespace: "false" opts it (or every workload in it) out of
 * restarts: its Secrets are still rotated, and it is listed as waiting for a manual restart. "true" on a
 * workload opts it back in inside an opted-out namespace.
 */
export const RESTART = 'authpolicy.io/restart';
/** On a pod template: `kubectl rollout restart`'s mark, which ends an opted-out workload's wait for a manual restart. */
export const KUBECTL_RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

// Defaults for every optional field, read from the `default:` values of crds/authpolicy.yaml (through the generated
// SPEC_FIELDS), so `check` on a local file or on built-in defaults behaves like the operator on an applied AuthPolicy.
// The enums, bounds and patterns resolveSpec checks come from the CRD the same way: nothing here repeats the schema.
import { parseDuration } from './duration.ts';
import { SPEC_FIELDS } from './generated/authpolicy.ts';
import type { AuthPolicySpec, LabelSelector, LegacyTokensSpec, NodeAuthorizationMode, RestartWindowSpec, RotationTrigger, WorkloadKind } from './types.ts';

/** Which dependents of a rotated Secret restart (spec.legacyTokens.restartDependents). */
export type RestartDependents = NonNullable<LegacyTokensSpec['restartDependents']>;

export interface ResolvedSpec {
  dryRun: boolean;
  nodeAuthorization: { mode: NodeAuthorizationMode; legacyBindingFallback: boolean; probeNodes: number; probeNodeRestriction: boolean };
  legacyTokens: {
    namespaceSelector: LabelSelector;
    rotateOn: RotationTrigger[];
    maxAgeMs: number | undefined;
    rotationRequestedAt: string | undefined;
    reviveInvalidated: boolean;
    restartWorkloads: boolean;
    /** All: every dependent of a rotated Secret restarts; NotRefreshable: only those the kubelet's in-place refresh does not reach */
    restartDependents: RestartDependents;
    workloadKinds: WorkloadKind[];
    maxConcurrentRestarts: number;
    rolloutTimeoutMs: number;
    tokenControllerTimeoutMs: number;
    restartWindows: RestartWindowSpec[];
    restartNow: string | undefined;
  };
  clock: { maxSkewMs: number };
  boundTokens: { reportLegacyMounts: boolean };
}

/** The CRD's defaults for the fields that need one filled in code (kept for callers; read from SPEC_FIELDS). */
export const DEFAULTS = {
  probeNodes: SPEC_FIELDS['spec.nodeAuthorization.probeNodes'].default,
  rotateOn: SPEC_FIELDS['spec.legacyTokens.rotateOn'].default,
  workloadKinds: SPEC_FIELDS['spec.legacyTokens.workloadKinds'].default,
  maxConcurrentRestarts: SPEC_FIELDS['spec.legacyTokens.maxConcurrentRestarts'].default,
  rolloutTimeout: SPEC_FIELDS['spec.legacyTokens.rolloutTimeout'].default,
  tokenControllerTimeout: SPEC_FIELDS['spec.legacyTokens.tokenControllerTimeout'].default,
  maxSkew: SPEC_FIELDS['spec.clock.maxSkew'].default,
} as const;

type IntegerField = 'spec.nodeAuthorization.probeNodes' | 'spec.legacyTokens.maxConcurrentRestarts';

/** The value, when it is an integer within the CRD's minimum and maximum for `path`; otherwise an error naming the field. */
function integerInRange(path: IntegerField, value: number): number {
  const { minimum, maximum } = SPEC_FIELDS[path];
  if (Number.isInteger(value) && value >= minimum && value <= maximum) return value;
  throw new Error(`${path}: must be an integer from ${minimum} to ${maximum}, got ${value}`);
}

const MODES: readonly string[] = SPEC_FIELDS['spec.nodeAuthorization.mode'].enum;
const RESTART_DEPENDENTS: readonly string[] = SPEC_FIELDS['spec.legacyTokens.restartDependents'].enum;
const WINDOW_START = new RegExp(SPEC_FIELDS['spec.legacyTokens.restartWindows[].start'].pattern);
const WINDOW_END = new RegExp(SPEC_FIELDS['spec.legacyTokens.restartWindows[].end'].pattern);

/** Fills defaults and parses durations; throws an error naming the field for a value the CRD would reject. */
export function resolveSpec(spec: AuthPolicySpec = {}): ResolvedSpec {
  const nodeAuth = spec.nodeAuthorization ?? {};
  const legacy = spec.legacyTokens ?? {};
  const mode = nodeAuth.mode ?? SPEC_FIELDS['spec.nodeAuthorization.mode'].default;
  if (!MODES.includes(mode)) throw new Error(`spec.nodeAuthorization.mode: Unsupported value "${mode}": supported values are ${MODES.join(', ')}`);
  const restartDependents = legacy.restartDependents ?? SPEC_FIELDS['spec.legacyTokens.restartDependents'].default;
  if (!RESTART_DEPENDENTS.includes(restartDependents))
    throw new Error(`spec.legacyTokens.restartDependents: Unsupported value "${restartDependents}": supported values are ${RESTART_DEPENDENTS.join(', ')}`);
  const probeNodes = integerInRange('spec.nodeAuthorization.probeNodes', nodeAuth.probeNodes ?? DEFAULTS.probeNodes);
  const maxConcurrentRestarts = integerInRange('spec.legacyTokens.maxConcurrentRestarts', legacy.maxConcurrentRestarts ?? DEFAULTS.maxConcurrentRestarts);
  if (nodeAuth.probeNodeRestriction !== undefined && typeof nodeAuth.probeNodeRestriction !== 'boolean') {
    throw new Error(`spec.nodeAuthorization.probeNodeRestriction: must be true or false, got ${JSON.stringify(nodeAuth.probeNodeRestriction)}`);
  }
  if (legacy.rotationRequestedAt !== undefined && Number.isNaN(Date.parse(legacy.rotationRequestedAt))) {
    throw new Error(`spec.legacyTokens.rotationRequestedAt: "${legacy.rotationRequestedAt}" is not an RFC 3339 timestamp`);
  }
  if (legacy.restartNow !== undefined && Number.isNaN(Date.parse(legacy.restartNow))) {
    throw new Error(`spec.legacyTokens.restartNow: "${legacy.restartNow}" is not an RFC 3339 timestamp`);
  }
  const restartWindows = (legacy.restartWindows ?? []).map((w, i) => {
    const timeZone = w.timeZone ?? SPEC_FIELDS['spec.legacyTokens.restartWindows[].timeZone'].default;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      throw new Error(
        `spec.legacyTokens.restartWindows[${i}].timeZone: "${timeZone}" is not an IANA time zone this operator knows (such as Europe/Berlin or UTC)`,
      );
    }
    if (!WINDOW_START.test(w.start) || !WINDOW_END.test(w.end) || w.start === w.end) {
      throw new Error(`spec.legacyTokens.restartWindows[${i}]: start and end must be different HH:MM times, got ${w.start}-${w.end}`);
    }
    return { ...w, timeZone };
  });
  return {
    dryRun: spec.dryRun ?? SPEC_FIELDS['spec.dryRun'].default,
    nodeAuthorization: {
      mode,
      legacyBindingFallback: nodeAuth.legacyBindingFallback ?? SPEC_FIELDS['spec.nodeAuthorization.legacyBindingFallback'].default,
      probeNodes,
      probeNodeRestriction: nodeAuth.probeNodeRestriction ?? SPEC_FIELDS['spec.nodeAuthorization.probeNodeRestriction'].default,
    },
    legacyTokens: {
      namespaceSelector: legacy.namespaceSelector ?? {},
      rotateOn: legacy.rotateOn ?? [...DEFAULTS.rotateOn],
      maxAgeMs: legacy.maxAge === undefined ? undefined : parseDuration(legacy.maxAge, 'spec.legacyTokens.maxAge'),
      rotationRequestedAt: legacy.rotationRequestedAt,
      reviveInvalidated: legacy.reviveInvalidated ?? SPEC_FIELDS['spec.legacyTokens.reviveInvalidated'].default,
      restartWorkloads: legacy.restartWorkloads ?? SPEC_FIELDS['spec.legacyTokens.restartWorkloads'].default,
      restartDependents,
      workloadKinds: legacy.workloadKinds ?? [...DEFAULTS.workloadKinds],
      maxConcurrentRestarts,
      rolloutTimeoutMs: parseDuration(legacy.rolloutTimeout ?? DEFAULTS.rolloutTimeout, 'spec.legacyTokens.rolloutTimeout'),
      tokenControllerTimeoutMs: parseDuration(legacy.tokenControllerTimeout ?? DEFAULTS.tokenControllerTimeout, 'spec.legacyTokens.tokenControllerTimeout'),
      restartWindows,
      restartNow: legacy.restartNow,
    },
    clock: { maxSkewMs: parseDuration(spec.clock?.maxSkew ?? DEFAULTS.maxSkew, 'spec.clock.maxSkew') },
    boundTokens: { reportLegacyMounts: spec.boundTokens?.reportLegacyMounts ?? SPEC_FIELDS['spec.boundTokens.reportLegacyMounts'].default },
  };
}

// Defaults for every optional field, mirroring the `default:` values in
// crds/authpolicy.yaml, so `check` on a local file or on built-in defaults
// behaves like the operator on an applied AuthPolicy.
import { parseDuration } from './duration.ts';
import type { AuthPolicySpec, LabelSelector, NodeAuthorizationMode, RestartWindowSpec, RotationTrigger, WorkloadKind } from './types.ts';

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

export const DEFAULTS = {
  probeNodes: 3,
  rotateOn: ['InvalidToken', 'StaleCA'] as RotationTrigger[],
  workloadKinds: ['Deployment', 'StatefulSet', 'DaemonSet'] as WorkloadKind[],
  maxConcurrentRestarts: 1,
  rolloutTimeout: '10m',
  tokenControllerTimeout: '60s',
  maxSkew: '30s',
} as const;

const MODES: readonly NodeAuthorizationMode[] = ['NodeAuthorizer', 'LegacyBinding', 'Unmanaged'];

/** Fills defaults and parses durations; throws an error naming the field for a value the CRD would reject. */
export function resolveSpec(spec: AuthPolicySpec = {}): ResolvedSpec {
  const na = spec.nodeAuthorization ?? {};
  const lt = spec.legacyTokens ?? {};
  const mode = na.mode ?? 'NodeAuthorizer';
  if (!MODES.includes(mode)) throw new Error(`spec.nodeAuthorization.mode: Unsupported value "${mode}": supported values are ${MODES.join(', ')}`);
  const probeNodes = na.probeNodes ?? DEFAULTS.probeNodes;
  if (!Number.isInteger(probeNodes) || probeNodes < 1 || probeNodes > 50) throw new Error(`spec.nodeAuthorization.probeNodes: must be an integer from 1 to 50, got ${probeNodes}`);
  if (na.probeNodeRestriction !== undefined && typeof na.probeNodeRestriction !== 'boolean') {
    throw new Error(`spec.nodeAuthorization.probeNodeRestriction: must be true or false, got ${JSON.stringify(na.probeNodeRestriction)}`);
  }
  const maxConcurrentRestarts = lt.maxConcurrentRestarts ?? DEFAULTS.maxConcurrentRestarts;
  if (!Number.isInteger(maxConcurrentRestarts) || maxConcurrentRestarts < 1 || maxConcurrentRestarts > 100) {
    throw new Error(`spec.legacyTokens.maxConcurrentRestarts: must be an integer from 1 to 100, got ${maxConcurrentRestarts}`);
  }
  if (lt.rotationRequestedAt !== undefined && Number.isNaN(Date.parse(lt.rotationRequestedAt))) {
    throw new Error(`spec.legacyTokens.rotationRequestedAt: "${lt.rotationRequestedAt}" is not an RFC 3339 timestamp`);
  }
  if (lt.restartNow !== undefined && Number.isNaN(Date.parse(lt.restartNow))) {
    throw new Error(`spec.legacyTokens.restartNow: "${lt.restartNow}" is not an RFC 3339 timestamp`);
  }
  const restartWindows = (lt.restartWindows ?? []).map((w, i) => {
    const timeZone = w.timeZone ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      throw new Error(`spec.legacyTokens.restartWindows[${i}].timeZone: "${timeZone}" is not an IANA time zone this operator knows (such as Europe/Berlin or UTC)`);
    }
    if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(w.start) || !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(w.end) || w.start === w.end) {
      throw new Error(`spec.legacyTokens.restartWindows[${i}]: start and end must be different HH:MM times, got ${w.start}-${w.end}`);
    }
    return { ...w, timeZone };
  });
  return {
    dryRun: spec.dryRun ?? false,
    nodeAuthorization: { mode, legacyBindingFallback: na.legacyBindingFallback ?? false, probeNodes, probeNodeRestriction: na.probeNodeRestriction ?? false },
    legacyTokens: {
      namespaceSelector: lt.namespaceSelector ?? {},
      rotateOn: lt.rotateOn ?? [...DEFAULTS.rotateOn],
      maxAgeMs: lt.maxAge === undefined ? undefined : parseDuration(lt.maxAge, 'spec.legacyTokens.maxAge'),
      rotationRequestedAt: lt.rotationRequestedAt,
      reviveInvalidated: lt.reviveInvalidated ?? false,
      restartWorkloads: lt.restartWorkloads ?? true,
      workloadKinds: lt.workloadKinds ?? [...DEFAULTS.workloadKinds],
      maxConcurrentRestarts,
      rolloutTimeoutMs: parseDuration(lt.rolloutTimeout ?? DEFAULTS.rolloutTimeout, 'spec.legacyTokens.rolloutTimeout'),
      tokenControllerTimeoutMs: parseDuration(lt.tokenControllerTimeout ?? DEFAULTS.tokenControllerTimeout, 'spec.legacyTokens.tokenControllerTimeout'),
      restartWindows,
      restartNow: lt.restartNow,
    },
    clock: { maxSkewMs: parseDuration(spec.clock?.maxSkew ?? DEFAULTS.maxSkew, 'spec.clock.maxSkew') },
    boundTokens: { reportLegacyMounts: spec.boundTokens?.reportLegacyMounts ?? true },
  };
}

// The AuthPolicy API (authpolicy.io/v1alpha1). crds/authpolicy.yaml is the one source of the schema: the spec and
// status types are generated from it; the envelope and metadata (free-form in the CRD) are typed here.
import type { Condition } from './conditions.ts';
import { GROUP, KIND, VERSION, type AuthPolicySpec, type AuthPolicyStatus as GeneratedStatus } from './generated/authpolicy.ts';

export { GROUP, KIND, PLURAL, VERSION } from './generated/authpolicy.ts';
export const API_VERSION = `${GROUP}/${VERSION}`;

// The spec and status types are generated from the CRD (src/api/generated/authpolicy.ts, `npm run generate`).
export type {
  AuthPolicySpec,
  BoundTokensSpec,
  ClockSpec,
  LabelSelector,
  LabelSelectorOperator,
  LabelSelectorRequirement,
  LegacyTokensSpec,
  NodeAuthorizationMode,
  NodeAuthorizationSpec,
  RestartWindowSpec,
  RotationTrigger,
  Weekday,
  WorkloadKind,
} from './generated/authpolicy.ts';

/**
 * The status as the CRD declares it, with conditions as the operator writes them (observedGeneration always set).
 * The per-area summaries (nodeAuthorization, legacyTokens, clock, boundTokens) are free-form in the CRD
 * (x-kubernetes-preserve-unknown-fields): small, bounded lists, worst offenders first, typed by each area.
 */
export interface AuthPolicyStatus extends Omit<GeneratedStatus, 'conditions'> {
  conditions?: Condition[];
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

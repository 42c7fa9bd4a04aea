// NodeRestriction by behaviour (opt-in: spec.nodeAuthorization.probeNodeRestriction).
// NodeRestriction is an admission plugin, so no SubjectAccessReview can see it.
// The probe impersonates one dedicated kubelet identity, system:node:<PROBE_NODE>
// in group system:nodes, and sends a dry-run (dryRun=All: admission runs, nothing
// is stored) label merge patch to ANOTHER Node's object. The Node authorizer lets
// any node patch any Node and leaves the limit to the plugin, which refuses with
// `node "<a>" is not allowed to modify node "<b>"`.
// https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction
// (kubernetes plugin/pkg/admission/noderestriction/admission.go, admitNode)
import type { KubeClient } from '../../kube/client.ts';
import { describeError, isForbidden, isNotFound, KubeApiError } from '../../kube/errors.ts';
import { objectPath, Resources } from '../../kube/paths.ts';

/** The one identity the operator may impersonate (config/components/noderestriction-probe grants exactly it). */
export const PROBE_NODE = 'authpolicy-noderestriction-probe';
export const PROBE_USER = `system:node:${PROBE_NODE}`;
export const PROBE_GROUP = 'system:nodes';
const PROBE_LABEL = 'authpolicy.io/noderestriction-probe';

export type NodeRestrictionVerdict = 'Enabled' | 'Disabled' | 'Unknown';

export interface NodeRestrictionProbe {
  verdict: NodeRestrictionVerdict;
  /** the Node whose object the probe tried to change (dry run), if any */
  target: string | undefined;
  /** what the API server answered, in a sentence */
  detail: string;
  at: string;
}

/** The first Node (by name) that is not the probe identity's own: the "other" node. */
export function pickTargetNode(names: readonly string[]): string | undefined {
  return [...names].filter((n) => n !== PROBE_NODE).sort()[0];
}

/** Reads the API server's answer to the probe's dry-run patch as a verdict. */
export function judgeProbeAnswer(target: string, err: unknown): Omit<NodeRestrictionProbe, 'at'> {
  const asWho = `${PROBE_USER} (group ${PROBE_GROUP})`;
  if (err === undefined) {
    return {
      verdict: 'Disabled',
      target,
      detail: `a dry-run label patch of node ${target} as ${asWho} was accepted, so no NodeRestriction admission plugin stops a kubelet from changing another node's object`,
    };
  }
  const message = describeError(err);
  if (isForbidden(err) && /is not allowed to modify node/.test(message)) {
    return { verdict: 'Enabled', target, detail: `a dry-run label patch of node ${target} as ${asWho} was refused by NodeRestriction` };
  }
  if (isForbidden(err) && /impersonat/i.test(message)) {
    return {
      verdict: 'Unknown',
      target,
      detail: `the operator may not impersonate ${asWho}: apply config/components/noderestriction-probe (Helm: nodeRestrictionProbe.enabled=true)`,
    };
  }
  if (isForbidden(err)) {
    return {
      verdict: 'Unknown',
      target,
      detail: `authorization refused the probe's dry-run patch of node ${target} before admission (is the Node authorizer on?): ${message}`,
    };
  }
  if (isNotFound(err)) return { verdict: 'Unknown', target, detail: `node ${target} was deleted while the probe ran; it will try another next time` };
  return { verdict: 'Unknown', target, detail: `the probe's dry-run patch of node ${target} failed: ${message}` };
}

/** No answer, or a server error: not evidence, so the area fails and the controller retries with backoff (nothing is remembered). */
const transient = (err: unknown): boolean => err instanceof KubeApiError && (err.status === 0 || err.status === 429 || err.status >= 500);

/** One dry-run request (never more), or none when there is no other Node to target; throws only when there was no real answer. */
export async function probeNodeRestriction(client: KubeClient, nodeNames: readonly string[], now: Date): Promise<NodeRestrictionProbe> {
  const at = now.toISOString();
  const target = pickTargetNode(nodeNames);
  if (!target) return { verdict: 'Unknown', target: undefined, detail: 'there is no Node for the probe to target, so NodeRestriction could not be tested', at };
  try {
    await client.request('PATCH', objectPath(Resources.nodes, target), {
      body: { metadata: { labels: { [PROBE_LABEL]: 'dry-run' } } },
      contentType: 'application/merge-patch+json',
      query: { dryRun: 'All', fieldManager: 'authpolicy-noderestriction-probe' },
      impersonate: { user: PROBE_USER, group: PROBE_GROUP },
    });
    return { ...judgeProbeAnswer(target, undefined), at };
  } catch (err) {
    if (transient(err)) throw err;
    return { ...judgeProbeAnswer(target, err), at };
  }
}

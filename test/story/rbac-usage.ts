// Which of config/rbac's rules an operator really used, from the API server's
// audit log: every rule is expanded to (namespace, apiGroup, resource, verb)
// grants, and a grant counts as used when an audit event of the operator's
// ServiceAccount matches it.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

export interface AuditEvent {
  verb: string;
  user: { username: string };
  requestURI: string;
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

export interface Grant {
  /** Role's namespace; undefined for a ClusterRole */
  namespace?: string;
  apiGroup: string;
  /** "resource" or "resource/subresource", or a non-resource URL */
  resource: string;
  verb: string;
  resourceNames?: string[];
  nonResource?: boolean;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface RoleDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
}

/** The audit policy that records the operator's requests (metadata only, never bodies). */
export function auditPolicy(username: string): string {
  return JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', users: [username] }, { level: 'None' }],
  });
}

export async function readAuditLog(path: string): Promise<AuditEvent[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);
}

/** Every (namespace, group, resource, verb) the Roles and ClusterRoles in a kustomize build grant. */
export function grantsOf(manifests: string): Grant[] {
  const grants: Grant[] = [];
  for (const doc of parseAllDocuments(manifests)) {
    const role = doc.toJS() as RoleDoc | null;
    if (!role || (role.kind !== 'Role' && role.kind !== 'ClusterRole')) continue;
    const namespace = role.kind === 'Role' ? role.metadata.namespace : undefined;
    for (const rule of role.rules ?? []) {
      for (const verb of rule.verbs) {
        for (const url of rule.nonResourceURLs ?? []) grants.push({ apiGroup: '', resource: url, verb, nonResource: true });
        for (const apiGroup of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? [])
            grants.push({ namespace, apiGroup, resource, verb, ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}) });
        }
      }
    }
  }
  return grants;
}

export function describeGrant(g: Grant): string {
  const where = g.nonResource ? '' : g.namespace ? ` in ${g.namespace}` : ' (cluster-wide)';
  return `${g.verb} ${g.apiGroup ? `${g.apiGroup}/` : ''}${g.resource}${g.resourceNames ? `[${g.resourceNames.join(',')}]` : ''}${where}`;
}

export function matches(g: Grant, e: AuditEvent): boolean {
  if (g.verb !== e.verb) return false;
  if (g.nonResource) return !e.objectRef && e.requestURI.split('?')[0] === g.resource;
  const ref = e.objectRef;
  if (!ref?.resource) return false;
  const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
  if (resource !== g.resource || (ref.apiGroup ?? '') !== g.apiGroup) return false;
  if (g.namespace !== undefined && ref.namespace !== g.namespace) return false;
  // A list or watch narrowed by a metadata.name field selector carries that name too.
  return !g.resourceNames || (ref.name !== undefined && g.resourceNames.includes(ref.name));
}

/** The grants no audit event used. */
export function unusedGrants(grants: Grant[], events: AuditEvent[]): Grant[] {
  return grants.filter((g) => !events.some((e) => matches(g, e)));
}

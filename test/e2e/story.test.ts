// The README's main command, non-interactively: the whole story of the four
// seeds (test/story/story.ts, the same code `make demo` narrates), with
// config/default applied by server-side dry-run and for real, and the API
// server's audit log proving the operator used only — and all of — the RBAC
// config/rbac grants.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { OPERATOR_NAMESPACE, ROOT } from '../cluster/operator.ts';
import { apply, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';
import { DEPENDENTS, KUBELET_NODES, TOKEN_SECRETS, UNRELATED } from '../story/broken-cluster.ts';
import { auditPolicy, describeGrant, grantsOf, readAuditLog, unusedGrants, type AuditEvent } from '../story/rbac-usage.ts';
import { runStory, type StoryRecord } from '../story/story.ts';

const test = suite('the whole story (make demo)');
const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:authpolicy-operator`;
/**
 * Grants the story's requests cannot show, proven needed by the probes below
 * instead: `create` is used only where the API server's bootstrap has no empty
 * system:node binding for the operator to fill (it fills it with an update
 * here); `bind` on the roleRef is checked inside every ClusterRoleBinding write
 * (RBAC's escalation check), not as a request of its own.
 */
const PROVEN_BY_PROBE = [
  'create rbac.authorization.k8s.io/clusterrolebindings (cluster-wide)',
  'bind rbac.authorization.k8s.io/clusterroles[system:node] (cluster-wide)',
  // Argo Rollouts are not installed in the story: test/e2e/rollouts.test.ts runs the operator under config/rbac with them.
  'list argoproj.io/rollouts (cluster-wide)',
  'watch argoproj.io/rollouts (cluster-wide)',
  'patch argoproj.io/rollouts (cluster-wide)',
];

let record: StoryRecord | undefined;
let transcript = '';
let audit: AuditEvent[] = [];
let rbacManifests = '';
const dryRun = { output: '', warnings: '', auditOverlay: '', createdNothing: false, objects: 0 };
let manager: PodTemplate | undefined;

interface PodTemplate {
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  volumes?: { projected?: { sources: Record<string, unknown>[] } }[];
  containers: {
    volumeMounts?: { mountPath: string }[];
    securityContext?: Record<string, unknown>;
    resources?: Record<string, unknown>;
    livenessProbe?: unknown;
    readinessProbe?: unknown;
  }[];
}
let realApplyObjects = 0;
const probes = { operatorMayCreate: '', withoutBind: '', withoutCreate: '', conflictCounts: '' };

/**
 * A dry-run create of a binding like the fallback one, authorized as `user`
 * (impersonated by the admin). Another name than system:node, which the API
 * server's bootstrap may have put back: RBAC cannot limit create by name anyway.
 */
async function createBindingAs(cluster: Cluster, user: string): Promise<string> {
  const r = await cluster.kubectl([
    'create',
    'clusterrolebinding',
    'probe-legacy-node-binding',
    '--clusterrole=system:node',
    '--group=system:nodes',
    '--dry-run=server',
    `--as=${user}`,
    '--as-group=system:serviceaccounts',
    '--as-group=system:authenticated',
  ]);
  return r.code === 0 ? `allowed: ${r.stdout.trim()}` : r.stderr.trim();
}

/** The operator's ClusterRole minus one rule, bound to a probe ServiceAccount; returns that account's user name. */
async function probeAccountWithout(cluster: Cluster, name: string, drop: (rule: { verbs: string[] }) => boolean): Promise<string> {
  const role = JSON.parse(await mustKubectl(cluster, ['get', 'clusterrole', 'authpolicy-operator', '-o', 'json'])) as { rules: { verbs: string[] }[] };
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: OPERATOR_NAMESPACE } });
  await apply(cluster, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: role.rules.filter((r) => !drop(r)) });
  await mustKubectl(cluster, ['create', 'clusterrolebinding', name, `--clusterrole=${name}`, `--serviceaccount=${OPERATOR_NAMESPACE}:${name}`]);
  return `system:serviceaccount:${OPERATOR_NAMESPACE}:${name}`;
}

/** After the story, with the operator still running: what the audit log alone cannot show. */
async function probe(cluster: Cluster): Promise<void> {
  probes.operatorMayCreate = await createBindingAs(cluster, OPERATOR_USER);
  probes.withoutBind = await createBindingAs(cluster, await probeAccountWithout(cluster, 'rbac-probe-without-bind', (r) => r.verbs.includes('bind')));
  probes.withoutCreate = await createBindingAs(
    cluster,
    await probeAccountWithout(cluster, 'rbac-probe-without-create', (r) => r.verbs.length === 1 && r.verbs[0] === 'create'),
  );
  // A second policy is refused with a Warning Event; reconciled again, the same Event is aggregated (events patch).
  const second = (dryRun: boolean): unknown => ({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'second' }, spec: { dryRun } });
  await apply(cluster, second(true));
  await waitForCondition(cluster, 'second', 'Ready', (c) => c.reason === 'Conflict');
  await apply(cluster, second(false));
  probes.conflictCounts = await waitFor('the Conflict Event of authpolicy/second to be counted twice', async () => {
    const out = await mustKubectl(cluster, [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=second,reason=Conflict',
      '-o',
      'jsonpath={.items[*].count}',
    ]);
    return out.split(' ').some((n) => Number(n) >= 2) ? out : undefined;
  });
}

test('the story runs end to end: every step reaches its state in time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'authpolicy-audit-'));
  await writeFile(join(dir, 'policy.json'), auditPolicy(OPERATOR_USER));
  const log = (line: string): void => {
    transcript += `${line}\n`;
  };
  try {
    record = await runStory({
      narrator: {
        step: (t) => {
          log(`==> ${t}`);
        },
        say: log,
        show: (cmd, out) => {
          log(`$ ${cmd}\n${out}`);
        },
      },
      apiserverArgs: [`--audit-policy-file=${join(dir, 'policy.json')}`, `--audit-log-path=${join(dir, 'audit.log')}`],
      beforeInstall: async (cluster: Cluster) => {
        // Server-side dry-run needs the namespace its namespaced objects go to.
        await mustKubectl(cluster, ['apply', '--server-side', '-f', join(ROOT, 'config/default/namespace.yaml')]);
        const r = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-k', join(ROOT, 'config/default')]);
        assert.is(r.code, 0, r.stderr);
        dryRun.output = r.stdout;
        dryRun.warnings = r.stderr;
        // With the audit Component (an admin's overlay): still valid, and it adds the leader-only Service.
        const withAudit = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-k', join(ROOT, 'test/story/audit-overlay')]);
        assert.is(withAudit.code, 0, withAudit.stderr);
        dryRun.auditOverlay = withAudit.stdout;
        dryRun.objects = (await mustKubectl(cluster, ['kustomize', join(ROOT, 'config/default')])).split(/^---$/m).length;
        const crd = await cluster.kubectl(['get', 'crd', 'authpolicies.authpolicy.io']);
        const role = await cluster.kubectl(['get', 'clusterrole', 'authpolicy-operator']);
        dryRun.createdNothing = crd.code !== 0 && role.code !== 0;
        rbacManifests = await mustKubectl(cluster, ['kustomize', join(ROOT, 'config/rbac')]);
      },
      beforeTeardown: async (cluster: Cluster) => {
        await probe(cluster);
        manager = (
          JSON.parse(await mustKubectl(cluster, ['get', 'deployment', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE, '-o', 'json'])) as {
            spec: { template: { spec: PodTemplate } };
          }
        ).spec.template.spec;
        const applied = await mustKubectl(cluster, ['get', '-k', join(ROOT, 'config/default'), '-o', 'name']);
        realApplyObjects = applied.split('\n').filter(Boolean).length;
      },
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- transcript ---\n${transcript.slice(-6000)}`, { cause: err });
  }
  audit = await readAuditLog(join(dir, 'audit.log'));
  await rm(dir, { recursive: true, force: true });
  assert.is(record.steps.length, 7, transcript);
});

test('config/default applies by server-side dry-run (creating nothing) and for real', () => {
  assert.ok(dryRun.objects > 10, `kustomize build has ${dryRun.objects} objects`);
  assert.is(dryRun.output.split('\n').filter((l) => /\(server dry run\)/.test(l)).length, dryRun.objects, dryRun.output);
  assert.ok(dryRun.createdNothing, 'a dry run created neither the CRD nor the ClusterRole');
  assert.is(realApplyObjects, dryRun.objects, 'every object of config/default exists after the real apply');
  assert.not.match(dryRun.warnings, /PodSecurity/, 'the namespace enforces (and warns on) the restricted Pod Security level: no warning');
  assert.match(dryRun.auditOverlay, /service\/authpolicy-operator-audit serverside-applied \(server dry run\)/);
  assert.match(dryRun.auditOverlay, /deployment.apps\/authpolicy-operator serverside-applied \(server dry run\)/);
});

test("the operator's pod is locked down and mounts one projected, expiring token only", () => {
  const pod = manager;
  const container = pod?.containers[0];
  assert.is(pod?.automountServiceAccountToken, false);
  const sources = pod?.volumes?.flatMap((v) => v.projected?.sources ?? []) ?? [];
  assert.equal(sources.map((x) => Object.keys(x)[0]).sort(), ['configMap', 'downwardAPI', 'serviceAccountToken']);
  assert.equal(sources.find((x) => 'serviceAccountToken' in x)?.serviceAccountToken, { path: 'token', expirationSeconds: 600 });
  assert.equal(
    container?.volumeMounts?.map((m) => m.mountPath),
    ['/var/run/secrets/kubernetes.io/serviceaccount'],
    'where the in-cluster config reads it',
  );
  assert.equal(pod?.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
  assert.is(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(container?.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  assert.ok(container?.resources?.requests && container.resources.limits, 'requests and limits');
  assert.ok(container.livenessProbe && container.readinessProbe, 'probes');
});

test('before the operator: kubelets forbidden, and check (read-only) says what needs action', () => {
  for (const node of KUBELET_NODES) assert.match(record?.kubeletErrors[node] ?? '', new RegExp(`User "system:node:${node}" cannot get resource "nodes"`));
  assert.is(record?.checkBeforeOperator?.code, 1);
  assert.match(record?.checkBeforeOperator?.stdout ?? '', /create clusterrolebinding\/system:node/);
  assert.match(record?.checkBeforeOperator?.stdout ?? '', /BoundTokensHealthy\s+False\s+LegacyTokensMounted/);
});

test('the kubelets-forbidden incident: the fallback binds system:node to the group system:nodes, and is removed under Node,RBAC', () => {
  assert.is(record?.fallbackBindingSubjects, 'Group:system:nodes');
  assert.is(record?.bindingAfterSwitch, false);
  assert.ok(record?.transitions.includes('NodeAuthorizationReady=True/LegacyBindingFallback'), record?.transitions.join(' '));
  assert.ok(record?.transitions.includes('NodeAuthorizationReady=True/NodeAuthorizer'), record?.transitions.join(' '));
});

test('the dead-legacy-token incident: every token Secret re-issued under the same name; exactly the dependents restarted', () => {
  assert.equal(
    record?.rotations.map((r) => r.secret),
    TOKEN_SECRETS,
  );
  for (const r of record?.rotations ?? []) {
    assert.equal(r, { secret: r.secret, sameUid: true, tokenChanged: true, oldTokenRejected: true, newTokenAccepted: true });
  }
  for (const w of DEPENDENTS) assert.ok(record?.restarted[w], `${w} restarted`);
  for (const w of DEPENDENTS) assert.ok(record?.templateIsOurs[w], `${w} records the pod template its restart produced`);
  assert.is(record?.restarted[UNRELATED], undefined, `${UNRELATED} is not touched`);
  assert.ok(record?.transitions.includes('WorkloadsRestarted=False/RestartsPending'), record?.transitions.join(' '));
});

test('the clock-skew incident: the skewed kubelet is named with its offset; the token-expiry-extension incident: Ready only once no pod mounts a legacy token', () => {
  assert.is(record?.skew?.reason, 'ClockSkewDetected');
  // 2 minutes ahead, within the estimate's precision of about a second (renewTime against the API server's
  // stamp of the same write, truncated to the second; a busy API server delays the stamp).
  assert.match(record?.skew?.message ?? '', /node node-3 \+(1m59s|2m0s|2m1s)/, record?.skew?.message);
  assert.ok(record?.transitions.includes('BoundTokensHealthy=False/LegacyTokensMounted'));
  assert.is(record?.finalReady?.reason, 'AllAreasReady');
});

test("kubectl describe authpolicy shows the conditions and the operator's Events", () => {
  const describe = record?.describe ?? '';
  assert.match(describe, /Conditions:/);
  const events = describe.slice(describe.indexOf('Events:'));
  for (const reason of ['LegacyBindingCreated', 'LegacyBindingDeleted', 'TokenRotated', 'WorkloadRestarted']) assert.match(events, reason, describe);
});

test('the operator was never refused, except while a restarted API server filled its RBAC caches', () => {
  const ours = audit.filter((e) => e.user.username === OPERATOR_USER);
  assert.ok(ours.length > 100, `${ours.length} audited requests`);
  const restarts = record?.apiserverRestarts ?? [];
  const refused = ours
    .filter((e) => e.responseStatus?.code === 403)
    .filter((e) => !restarts.some((t) => Date.parse(e.requestReceivedTimestamp) >= t && Date.parse(e.requestReceivedTimestamp) < t + 60_000));
  assert.equal(
    refused.map((e) => `${e.verb} ${e.requestURI}`),
    [],
  );
});

test('ClusterRoleBinding create and bind (on system:node only) are what let the operator make the fallback binding', () => {
  assert.match(
    probes.operatorMayCreate,
    /^allowed: clusterrolebinding.rbac.authorization.k8s.io\/probe-legacy-node-binding created \(server dry run\)/,
    probes.operatorMayCreate,
  );
  assert.match(
    probes.withoutBind,
    /is attempting to grant RBAC permissions not currently held/,
    `without bind the escalation check refuses: ${probes.withoutBind}`,
  );
  assert.match(probes.withoutCreate, /cannot create resource "clusterrolebindings"/, `without create: refused: ${probes.withoutCreate}`);
});

test('repeated Events are aggregated: one Event, its count patched', () => {
  assert.ok(
    probes.conflictCounts.split(' ').some((n) => Number(n) >= 2),
    probes.conflictCounts,
  );
});

test('every RBAC rule in config/rbac is used by the operator (audit log), or proven needed by a probe', () => {
  const grants = grantsOf(rbacManifests);
  assert.ok(grants.length > 30, `${grants.length} grants`);
  // The operator's own requests only: not the probes' impersonated ones.
  const ours = audit.filter((e) => e.user.username === OPERATOR_USER && (e.responseStatus?.code ?? 0) < 400);
  const unused = unusedGrants(grants, ours).map(describeGrant);
  assert.equal(unused, PROVEN_BY_PROBE, `unused grants:\n${unused.join('\n')}`);
});

test.run();

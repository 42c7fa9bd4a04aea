// The node-authorization decision, one row per situation of the kubelets-forbidden incident.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AuthPolicySpec } from '../../../src/api/types.ts';
import { classifyBinding } from '../../../src/areas/nodeauth/binding.ts';
import { pickProbeNodes, type NodeAuthObservation } from '../../../src/areas/nodeauth/observe.ts';
import { planNodeAuthorization } from '../../../src/areas/nodeauth/plan.ts';
import { grantedBy } from '../../../src/areas/nodeauth/probe.ts';
import { alice, binding, nodesGroup, observation } from './nodeauth-fixtures.ts';

const rows: { name: string; spec: AuthPolicySpec; obs: NodeAuthObservation; status: string; reason: string; actions: string[] }[] = [
  {
    name: 'fresh RBAC-only cluster, fallback on: bind now',
    spec: { nodeAuthorization: { legacyBindingFallback: true } },
    obs: observation('Denied', undefined),
    status: 'True',
    reason: 'LegacyBindingFallback',
    actions: ['create'],
  },
  {
    name: 'fresh cluster with the empty bootstrap binding, fallback on: fill it',
    spec: { nodeAuthorization: { legacyBindingFallback: true } },
    obs: observation('Denied', binding([])),
    status: 'True',
    reason: 'LegacyBindingFallback',
    actions: ['bind'],
  },
  {
    name: 'fallback binding in place, Node authorizer still off: keep it',
    spec: { nodeAuthorization: { legacyBindingFallback: true } },
    obs: observation('RBAC', binding([nodesGroup], { 'app.kubernetes.io/managed-by': 'authpolicy-operator' })),
    status: 'True',
    reason: 'LegacyBindingFallback',
    actions: [],
  },
  {
    name: 'Node authorizer on, legacy binding left over: delete it',
    spec: {},
    obs: observation('Node', binding([nodesGroup])),
    status: 'True',
    reason: 'NodeAuthorizer',
    actions: ['delete'],
  },
  { name: 'Node authorizer on, no binding: ready', spec: {}, obs: observation('Node', binding([])), status: 'True', reason: 'NodeAuthorizer', actions: [] },
  {
    name: 'Node authorizer on, binding with an extra subject: report, never delete',
    spec: {},
    obs: observation('Node', binding([nodesGroup, alice])),
    status: 'False',
    reason: 'LegacyBindingHasExtraSubjects',
    actions: [],
  },
  {
    name: 'RBAC only, fallback off: say which flags to set',
    spec: {},
    obs: observation('Denied', binding([])),
    status: 'False',
    reason: 'NodeAuthorizerDisabled',
    actions: [],
  },
  {
    name: 'RBAC only, fallback off, an admin binding keeps nodes alive: not ours to remove',
    spec: {},
    obs: observation('RBAC', binding([nodesGroup])),
    status: 'False',
    reason: 'NodeAuthorizerDisabled',
    actions: [],
  },
  {
    name: 'LegacyBinding mode, subjects of its binding emptied by hand: repair',
    spec: { nodeAuthorization: { mode: 'LegacyBinding' } },
    obs: observation('Denied', binding([], { 'app.kubernetes.io/managed-by': 'authpolicy-operator' })),
    status: 'True',
    reason: 'LegacyBinding',
    actions: ['repair'],
  },
  {
    name: 'LegacyBinding mode, extra subject: back to the exact shape',
    spec: { nodeAuthorization: { mode: 'LegacyBinding' } },
    obs: observation('RBAC', binding([nodesGroup, alice])),
    status: 'True',
    reason: 'LegacyBinding',
    actions: ['repair'],
  },
  {
    name: 'LegacyBinding mode, exact: nothing to do',
    spec: { nodeAuthorization: { mode: 'LegacyBinding' } },
    obs: observation('RBAC', binding([nodesGroup])),
    status: 'True',
    reason: 'LegacyBinding',
    actions: [],
  },
  {
    name: 'Unmanaged, kubelets denied: report only',
    spec: { nodeAuthorization: { mode: 'Unmanaged', legacyBindingFallback: true } },
    obs: observation('Denied', undefined),
    status: 'False',
    reason: 'KubeletsDenied',
    actions: [],
  },
  {
    name: 'Unmanaged, Node authorizer: report only',
    spec: { nodeAuthorization: { mode: 'Unmanaged' } },
    obs: observation('Node', binding([nodesGroup])),
    status: 'True',
    reason: 'NodeAuthorizer',
    actions: [],
  },
  {
    name: 'Node authorizer on but NodeRestriction off in the static pod flags',
    spec: {},
    obs: observation('Node', undefined, { source: 'staticPod', podName: 'kube-apiserver-cp1', authorizationModes: ['Node', 'RBAC'], admissionPlugins: [] }),
    status: 'False',
    reason: 'NodeRestrictionDisabled',
    actions: [],
  },
];

const test = suite('nodeAuthorization plan');
for (const row of rows) {
  test(row.name, () => {
    const plan = planNodeAuthorization(resolveSpec(row.spec), row.obs);
    const [c] = plan.report.conditions;
    assert.is(c?.type, 'NodeAuthorizationReady');
    assert.is(c?.status, row.status, c?.message);
    assert.is(c?.reason, row.reason, c?.message);
    assert.equal(
      plan.actions.map((a) => a.kind),
      row.actions,
    );
  });
}

test('dry run keeps the actions in the plan, says so, and lists them in the summary', () => {
  const plan = planNodeAuthorization(resolveSpec({ dryRun: true, nodeAuthorization: { legacyBindingFallback: true } }), observation('Denied', undefined));
  assert.ok(plan.dryRun);
  assert.match(plan.report.conditions[0]?.message ?? '', /Dry run: the operator would create clusterrolebinding\/system:node/);
  assert.equal((plan.report.summary.plannedActions as string[]).length, 1);
});

test('the NodeAuthorizerDisabled message names the flags to set and the ones seen', () => {
  const plan = planNodeAuthorization(
    resolveSpec({}),
    observation('Denied', undefined, {
      source: 'staticPod',
      podName: 'kube-apiserver-cp1',
      authorizationModes: ['RBAC'],
      admissionPlugins: ['NodeRestriction'],
    }),
  );
  const msg = plan.report.conditions[0]?.message ?? '';
  assert.match(msg, /--authorization-mode=Node,RBAC/);
  assert.match(msg, /--enable-admission-plugins=NodeRestriction/);
  assert.match(msg, /kube-apiserver-cp1 runs with --authorization-mode=RBAC/);
  assert.match(msg, /system:node:node-a may not get nodes\/node-a/);
  assert.ok(plan.report.findings.some((f) => f.health === 'action'));
});

test('structured authorization config is reported as unreadable, not guessed', () => {
  const plan = planNodeAuthorization(
    resolveSpec({}),
    observation('Denied', undefined, {
      source: 'staticPod',
      podName: 'kube-apiserver-cp1',
      authorizationConfigFile: '/etc/kubernetes/authz.yaml',
      admissionPlugins: ['NodeRestriction'],
    }),
  );
  assert.match(plan.report.conditions[0]?.message ?? '', /--authorization-config=\/etc\/kubernetes\/authz.yaml.*cannot read/);
});

test('binding states', () => {
  assert.is(classifyBinding(undefined), 'absent');
  assert.is(classifyBinding(binding([])), 'absent');
  assert.is(classifyBinding(binding([nodesGroup])), 'legacy');
  assert.is(classifyBinding(binding([nodesGroup, alice])), 'extraSubjects');
  assert.is(classifyBinding(binding([alice])), 'drifted');
});

test('which authorizer answered a review', () => {
  assert.is(grantedBy({ allowed: true }), 'Node');
  assert.is(
    grantedBy({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node" to Group "system:nodes"' }),
    'RBAC',
  );
  assert.is(grantedBy({ allowed: true, reason: 'webhook said yes' }), 'Other');
  assert.is(grantedBy({ allowed: false, reason: "node: node 'a' cannot read all nodes" }), 'Denied');
});

test('probe sample: NotReady first, then by name, bounded', () => {
  const n = (name: string, ready: 'True' | 'False' | 'Unknown') => ({ metadata: { name }, ready });
  assert.equal(pickProbeNodes([n('c', 'True'), n('b', 'False'), n('a', 'True'), n('d', 'Unknown')], 3), ['b', 'd', 'a']);
  assert.equal(pickProbeNodes([], 3), []);
  const many = Array.from({ length: 5000 }, (_, i) => n(`node-${i}`, 'True'));
  assert.is(pickProbeNodes(many, 3).length, 3);
});

test.run();

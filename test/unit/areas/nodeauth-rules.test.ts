// Each node-authorization rule on its own, then their order: one table per rule,
// one row per situation in which it speaks or stays silent.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AuthPolicySpec } from '../../../src/api/types.ts';
import type { LegacyBinding } from '../../../src/areas/nodeauth/binding.ts';
import type { NodeAuthObservation } from '../../../src/areas/nodeauth/observe.ts';
import { decide, gatherFacts, RULES, type NodeAuthFacts } from '../../../src/areas/nodeauth/plan.ts';
import type { GrantedBy } from '../../../src/areas/nodeauth/probe.ts';
import { checkRuleTable } from '../../support/rule-table.ts';
import { alice, binding, nodesGroup, observation } from './nodeauth-fixtures.ts';

const test = suite('nodeAuthorization rules');
const ours = { 'app.kubernetes.io/managed-by': 'authpolicy-operator' };
const probeEnabled: NodeAuthObservation['nodeRestrictionProbe'] = { verdict: 'Enabled', target: 'node-b', detail: 'refused by NodeRestriction', at: 'now' };
const probeDisabled: NodeAuthObservation['nodeRestrictionProbe'] = { verdict: 'Disabled', target: 'node-b', detail: 'was accepted', at: 'now' };
const probeNoTarget: NodeAuthObservation['nodeRestrictionProbe'] = {
  verdict: 'Unknown',
  target: undefined,
  detail: 'there is no Node for the probe to target',
  at: 'now',
};

/** b: the system:node binding ('none': no object at all); default the API server's empty bootstrap one */
function facts(spec: AuthPolicySpec, by: GrantedBy, b: LegacyBinding | 'none' = binding([]), extra: Partial<NodeAuthObservation> = {}): NodeAuthFacts {
  return gatherFacts(resolveSpec(spec), observation(by, b === 'none' ? undefined : b, { source: 'unknown' }, extra));
}
const rule = (name: string): (typeof RULES)[number] => {
  const r = RULES.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};

interface Row {
  rule: string;
  name: string;
  f: NodeAuthFacts;
  want: { reason: string; status?: string; actions?: string[] } | undefined;
}
const rows: Row[] = [
  { rule: 'unmanaged', name: 'other modes: silent', f: facts({}, 'Denied'), want: undefined },
  {
    rule: 'unmanaged',
    name: 'kubelets denied',
    f: facts({ nodeAuthorization: { mode: 'Unmanaged' } }, 'Denied'),
    want: { reason: 'KubeletsDenied', status: 'False', actions: [] },
  },
  {
    rule: 'unmanaged',
    name: 'Node authorizer',
    f: facts({ nodeAuthorization: { mode: 'Unmanaged' } }, 'Node', binding([nodesGroup])),
    want: { reason: 'NodeAuthorizer', status: 'True', actions: [] },
  },
  {
    rule: 'unmanaged',
    name: 'RBAC',
    f: facts({ nodeAuthorization: { mode: 'Unmanaged' } }, 'RBAC'),
    want: { reason: 'LegacyBinding', status: 'True', actions: [] },
  },
  { rule: 'legacyBindingMode', name: 'NodeAuthorizer mode: silent', f: facts({}, 'RBAC'), want: undefined },
  {
    rule: 'legacyBindingMode',
    name: 'no binding: create',
    f: facts({ nodeAuthorization: { mode: 'LegacyBinding' } }, 'Denied', 'none'),
    want: { reason: 'LegacyBinding', status: 'True', actions: ['create'] },
  },
  {
    rule: 'legacyBindingMode',
    name: 'exact, kubelets still denied',
    f: facts({ nodeAuthorization: { mode: 'LegacyBinding' } }, 'Denied', binding([nodesGroup])),
    want: { reason: 'KubeletsDenied', status: 'False', actions: [] },
  },
  {
    rule: 'legacyBindingMode',
    name: 'extra subject: repair',
    f: facts({ nodeAuthorization: { mode: 'LegacyBinding' } }, 'RBAC', binding([nodesGroup, alice])),
    want: { reason: 'LegacyBinding', actions: ['repair'] },
  },
  { rule: 'fallbackWhileNodeAuthorizerMissing', name: 'fallback off: silent', f: facts({}, 'Denied'), want: undefined },
  {
    rule: 'fallbackWhileNodeAuthorizerMissing',
    name: 'Node authorizer on: silent',
    f: facts({ nodeAuthorization: { legacyBindingFallback: true } }, 'Node'),
    want: undefined,
  },
  {
    rule: 'fallbackWhileNodeAuthorizerMissing',
    name: 'bootstrap binding: fill it',
    f: facts({ nodeAuthorization: { legacyBindingFallback: true } }, 'Denied'),
    want: { reason: 'LegacyBindingFallback', actions: ['bind'] },
  },
  {
    rule: 'fallbackWhileNodeAuthorizerMissing',
    name: "someone else's binding with extra subjects: silent",
    f: facts({ nodeAuthorization: { legacyBindingFallback: true } }, 'RBAC', binding([nodesGroup, alice])),
    want: undefined,
  },
  {
    rule: 'fallbackWhileNodeAuthorizerMissing',
    name: 'our binding drifted: repair',
    f: facts({ nodeAuthorization: { legacyBindingFallback: true } }, 'RBAC', binding([nodesGroup, alice], ours)),
    want: { reason: 'LegacyBindingFallback', actions: ['repair'] },
  },
  { rule: 'nodeAuthorizerMissing', name: 'Node authorizer on: silent', f: facts({}, 'Node'), want: undefined },
  { rule: 'nodeAuthorizerMissing', name: 'denied', f: facts({}, 'Denied'), want: { reason: 'NodeAuthorizerDisabled', status: 'False', actions: [] } },
  { rule: 'leftoverLegacyBinding', name: 'no binding: silent', f: facts({}, 'Node'), want: undefined },
  {
    rule: 'leftoverLegacyBinding',
    name: 'legacy shape: delete',
    f: facts({}, 'Node', binding([nodesGroup])),
    want: { reason: 'NodeAuthorizer', status: 'True', actions: ['delete'] },
  },
  { rule: 'bindingGrantsMore', name: 'legacy shape: silent', f: facts({}, 'Node', binding([nodesGroup])), want: undefined },
  {
    rule: 'bindingGrantsMore',
    name: 'extra subject: refuse',
    f: facts({}, 'Node', binding([nodesGroup, alice])),
    want: { reason: 'LegacyBindingHasExtraSubjects', status: 'False', actions: [] },
  },
  {
    rule: 'bindingGrantsMore',
    name: 'drifted: refuse',
    f: facts({}, 'Node', binding([alice])),
    want: { reason: 'LegacyBindingHasExtraSubjects', status: 'False', actions: [] },
  },
  { rule: 'nodeRestrictionDisabled', name: 'unknown: silent', f: facts({}, 'Node'), want: undefined },
  {
    rule: 'nodeRestrictionDisabled',
    name: 'probe found it enabled: silent',
    f: facts({}, 'Node', binding([]), { nodeRestrictionProbe: probeEnabled }),
    want: undefined,
  },
  {
    rule: 'nodeRestrictionDisabled',
    name: 'probe found it disabled',
    f: facts({}, 'Node', binding([]), { nodeRestrictionProbe: probeDisabled }),
    want: { reason: 'NodeRestrictionDisabled', status: 'False' },
  },
  {
    rule: 'nodeAuthorizerReady',
    name: 'always speaks',
    f: facts({}, 'Node', binding([]), { nodeRestrictionProbe: probeNoTarget }),
    want: { reason: 'NodeAuthorizer', status: 'True', actions: [] },
  },
];

for (const row of rows) {
  test(`${row.rule}: ${row.name}`, () => {
    checkRuleTable(rule(row.rule), [{ what: row.name, facts: row.f, applies: row.want !== undefined, ...row.want }]);
  });
}

test('order: the first rule that speaks decides', () => {
  // A leftover binding and NodeRestriction off: the binding is removed first, NodeRestriction reported next time.
  assert.is(decide(facts({}, 'Node', binding([nodesGroup]), { nodeRestrictionProbe: probeDisabled })).rule, 'leftoverLegacyBinding');
  assert.is(decide(facts({}, 'Node', binding([]), { nodeRestrictionProbe: probeDisabled })).rule, 'nodeRestrictionDisabled');
  assert.is(decide(facts({ nodeAuthorization: { mode: 'Unmanaged' } }, 'Node', binding([nodesGroup]))).rule, 'unmanaged');
  assert.throws(() => decide(facts({}, 'Node'), []), /no rule decided/);
});

test('with no Node to target, NodeRestriction is Unknown and the message says why', () => {
  const v = decide(facts({}, 'Node', binding([]), { nodeRestrictionProbe: probeNoTarget }));
  assert.match(v.message, /NodeRestriction: unknown \(probe: there is no Node for the probe to target\)/);
});

test('messages say where each fact came from', () => {
  const v = decide(facts({}, 'Denied'));
  assert.match(
    v.message,
    /Where each fact came from: probe: 8 of 8 kubelet SubjectAccessReviews were not answered by the Node authorizer \(denied\); metrics: not permitted; flags: no kube-apiserver static pod/,
  );
});

test('probeNodeRestriction: off by default, a boolean or refused naming the field', () => {
  assert.is(resolveSpec({}).nodeAuthorization.probeNodeRestriction, false);
  assert.is(resolveSpec({ nodeAuthorization: { probeNodeRestriction: true } }).nodeAuthorization.probeNodeRestriction, true);
  assert.throws(
    () => resolveSpec({ nodeAuthorization: { probeNodeRestriction: 'yes' as unknown as boolean } }),
    /spec\.nodeAuthorization\.probeNodeRestriction: must be true or false/,
  );
});

test.run();

// Evidence about authorizers and NodeRestriction: /metrics counters, probe answers,
// flags; and the NodeRestriction probe's reading of the API server's answer.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { ApiserverFlags } from '../../../src/kube/apiserver-flags.ts';
import type { KubeApiError } from '../../../src/kube/errors.ts';
import { authorizerMetrics, nodeAuthorizerEvidence, nodeAuthorizerFromFlags, nodeRestrictionEvidence } from '../../../src/areas/nodeauth/evidence.ts';
import { judgeProbeAnswer, pickTargetNode, PROBE_NODE } from '../../../src/areas/nodeauth/node-restriction.ts';
import { kubeletChecks, type CheckResult, type GrantedBy } from '../../../src/areas/nodeauth/probe.ts';
import { apiError } from '../../support/builders.ts';

const test = suite('nodeAuthorization evidence');

// As kube-apiserver 1.37 serves it (labels sorted by name).
const METRICS = `# HELP apiserver_authorization_decisions_total [BETA] Total number of terminal decisions made by an authorizer split by authorizer type, name, and decision.
# TYPE apiserver_authorization_decisions_total counter
apiserver_authorization_decisions_total{decision="allowed",name="node",type="Node"} 24
apiserver_authorization_decisions_total{decision="allowed",name="rbac",type="RBAC"} 310
apiserver_authorization_decisions_total{decision="denied",name="rbac",type="RBAC"} 2
apiserver_authorization_decisions_totally_different 5
`;
const readable = (text: string): Parameters<typeof authorizerMetrics>[0] => ({ readable: true, text, at: 'now' });
const results = (by: GrantedBy): CheckResult[] =>
  kubeletChecks('node-a').map((c) => ({ check: c.name, allowed: by !== 'Denied', grantedBy: by, reason: '', nodeScoped: c.nodeScoped }));
const hidden: ApiserverFlags = { source: 'unknown' };

test('authorizers that decided, from apiserver_authorization_decisions_total', () => {
  const m = authorizerMetrics(readable(METRICS));
  assert.ok(m.readable);
  assert.equal(m.authorizers, [
    { type: 'Node', name: 'node', allowed: 24, denied: 0 },
    { type: 'RBAC', name: 'rbac', allowed: 310, denied: 2 },
  ]);
  assert.equal(authorizerMetrics({ readable: false, why: 'forbidden', at: 'now' }), { readable: false, why: 'forbidden', at: 'now' });
});

const evidenceRows: { name: string; by: GrantedBy; metrics: string | undefined; present: boolean | undefined; metricsSays: string }[] = [
  { name: 'probe and metrics agree: present', by: 'Node', metrics: METRICS, present: true, metricsSays: 'present' },
  { name: 'probe says Node, metrics unreadable: the probe decides', by: 'Node', metrics: undefined, present: true, metricsSays: 'unknown' },
  {
    name: 'RBAC only: absent, metrics confirm',
    by: 'Denied',
    metrics: 'apiserver_authorization_decisions_total{decision="allowed",name="rbac",type="RBAC"} 3\n',
    present: false,
    metricsSays: 'absent',
  },
  {
    name: 'empty-reason allows from AlwaysAllow, no Node authorizer in metrics: not the Node authorizer',
    by: 'Node',
    metrics: 'apiserver_authorization_decisions_total{decision="allowed",name="always",type="AlwaysAllow"} 9\n',
    present: false,
    metricsSays: 'absent',
  },
  {
    name: 'probe says Node, metrics show only RBAC (another instance): the probe decides',
    by: 'Node',
    metrics: 'apiserver_authorization_decisions_total{decision="allowed",name="rbac",type="RBAC"} 3\n',
    present: true,
    metricsSays: 'absent',
  },
];
for (const row of evidenceRows) {
  test(`node authorizer: ${row.name}`, () => {
    const m = authorizerMetrics(row.metrics === undefined ? { readable: false, why: 'not permitted', at: 'now' } : readable(row.metrics));
    const e = nodeAuthorizerEvidence(results(row.by), m, hidden);
    assert.is(e.present, row.present);
    assert.is(e.facts.find((f) => f.source === 'metrics')?.says, row.metricsSays);
    assert.equal(
      e.facts.slice(0, 3).map((f) => f.source),
      ['probe', 'metrics', 'flags'],
    );
  });
}

test('metrics from one of several API servers say so', () => {
  const m = authorizerMetrics(readable(METRICS), 3);
  assert.match(nodeAuthorizerEvidence(results('Node'), m, hidden).facts[1]?.detail ?? '', /on the one of 3 API servers the operator's connection reached/);
  assert.not.match(nodeAuthorizerEvidence(results('Node'), authorizerMetrics(readable(METRICS)), hidden).facts[1]?.detail ?? '', /API servers/);
});

test('node authorizer: no probe result is unknown', () => {
  assert.is(nodeAuthorizerEvidence([], authorizerMetrics(readable(METRICS)), hidden).present, undefined);
});

test('flags facts: hidden, structured config, modes', () => {
  assert.is(nodeAuthorizerFromFlags(hidden).says, 'unknown');
  assert.is(nodeAuthorizerFromFlags({ source: 'staticPod', podName: 'kube-apiserver-cp1', authorizationConfigFile: '/etc/authz.yaml' }).says, 'unknown');
  assert.is(nodeAuthorizerFromFlags({ source: 'staticPod', authorizationModes: ['Node', 'RBAC'] }).says, 'present');
  assert.is(nodeAuthorizerFromFlags({ source: 'staticPod', authorizationModes: ['RBAC'] }).says, 'absent');
});

const probe = (verdict: 'Enabled' | 'Disabled' | 'Unknown'): Parameters<typeof nodeRestrictionEvidence>[1] => ({
  verdict,
  target: 'node-a',
  detail: verdict,
  at: 'now',
});
const nrRows: { name: string; flags: ApiserverFlags; probe: Parameters<typeof nodeRestrictionEvidence>[1]; state: string; source: string | undefined }[] = [
  { name: 'nothing to go on: Unknown', flags: hidden, probe: undefined, state: 'Unknown', source: undefined },
  { name: 'flags: on', flags: { source: 'staticPod', admissionPlugins: ['NodeRestriction'] }, probe: undefined, state: 'Enabled', source: 'flags' },
  { name: 'flags: off (default)', flags: { source: 'staticPod', admissionPlugins: [] }, probe: undefined, state: 'Disabled', source: 'flags' },
  { name: 'probe: refused', flags: hidden, probe: probe('Enabled'), state: 'Enabled', source: 'probe' },
  { name: 'probe: accepted', flags: hidden, probe: probe('Disabled'), state: 'Disabled', source: 'probe' },
  {
    name: 'behaviour wins over flags',
    flags: { source: 'staticPod', admissionPlugins: ['NodeRestriction'] },
    probe: probe('Disabled'),
    state: 'Disabled',
    source: 'probe',
  },
  {
    name: 'inconclusive probe, flags visible: flags',
    flags: { source: 'staticPod', admissionPlugins: ['NodeRestriction'] },
    probe: probe('Unknown'),
    state: 'Enabled',
    source: 'flags',
  },
  { name: 'inconclusive probe, flags hidden: Unknown from the probe', flags: hidden, probe: probe('Unknown'), state: 'Unknown', source: 'probe' },
];
for (const row of nrRows) {
  test(`NodeRestriction: ${row.name}`, () => {
    const e = nodeRestrictionEvidence(row.flags, row.probe);
    assert.is(e.state, row.state);
    assert.is(e.source, row.source);
  });
}

const nodePatchError = (status: number, message: string): KubeApiError => apiError(status, message, { method: 'PATCH', path: '/api/v1/nodes/node-a' });
const answers: { name: string; err: unknown; verdict: string; detail: RegExp }[] = [
  { name: 'accepted', err: undefined, verdict: 'Disabled', detail: /was accepted/ },
  {
    name: 'refused by NodeRestriction',
    err: nodePatchError(403, `nodes "node-a" is forbidden: node "${PROBE_NODE}" is not allowed to modify node "node-a"`),
    verdict: 'Enabled',
    detail: /refused by NodeRestriction/,
  },
  {
    name: 'no impersonation grant',
    err: nodePatchError(
      403,
      `users "system:node:${PROBE_NODE}" is forbidden: User "system:serviceaccount:a:b" cannot impersonate resource "users" in API group "" at the cluster scope`,
    ),
    verdict: 'Unknown',
    detail: /config\/components\/noderestriction-probe/,
  },
  {
    name: 'refused by authorization',
    err: nodePatchError(
      403,
      `nodes "node-a" is forbidden: User "system:node:${PROBE_NODE}" cannot patch resource "nodes" in API group "" at the cluster scope`,
    ),
    verdict: 'Unknown',
    detail: /authorization refused .* before admission/,
  },
  { name: 'target deleted', err: nodePatchError(404, 'nodes "node-a" not found'), verdict: 'Unknown', detail: /was deleted/ },
  { name: 'network', err: new Error('ECONNRESET'), verdict: 'Unknown', detail: /failed: ECONNRESET/ },
];
for (const row of answers) {
  test(`NodeRestriction probe answer: ${row.name}`, () => {
    const j = judgeProbeAnswer('node-a', row.err);
    assert.is(j.verdict, row.verdict);
    assert.match(j.detail, row.detail);
  });
}

test('NodeRestriction probe target: another Node, never its own identity', () => {
  assert.is(pickTargetNode(['node-b', PROBE_NODE, 'node-a']), 'node-a');
  assert.is(pickTargetNode([PROBE_NODE]), undefined);
  assert.is(pickTargetNode([]), undefined);
});

test.run();

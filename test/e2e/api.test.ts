// The AuthPolicy API on a real API server: bad manifests are rejected at apply
// time with a message naming the field, and the sample is accepted and
// reconciled by the operator running under the RBAC in config/.
import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('AuthPolicy API');
let cluster: Cluster;
let operator: OperatorProcess | undefined;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
});
test.after(async () => {
  await operator?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

// Each case: a spec fragment and the field path the API server's message must name.
const invalid: { name: string; spec: unknown; field: RegExp }[] = [
  { name: 'dryRun not a boolean', spec: { dryRun: 'yes' }, field: /spec\.dryRun/ },
  { name: 'unknown node authorization mode', spec: { nodeAuthorization: { mode: 'Sometimes' } }, field: /spec\.nodeAuthorization\.mode: Unsupported value/ },
  { name: 'mode not a string', spec: { nodeAuthorization: { mode: 5 } }, field: /spec\.nodeAuthorization\.mode/ },
  { name: 'nodeAuthorization not an object', spec: { nodeAuthorization: 'NodeAuthorizer' }, field: /spec\.nodeAuthorization/ },
  { name: 'legacyBindingFallback not a boolean', spec: { nodeAuthorization: { legacyBindingFallback: 'true' } }, field: /spec\.nodeAuthorization\.legacyBindingFallback/ },
  { name: 'probeNodes below 1', spec: { nodeAuthorization: { probeNodes: 0 } }, field: /spec\.nodeAuthorization\.probeNodes/ },
  { name: 'probeNodes above 50', spec: { nodeAuthorization: { probeNodes: 51 } }, field: /spec\.nodeAuthorization\.probeNodes/ },
  { name: 'probeNodes not an integer', spec: { nodeAuthorization: { probeNodes: 1.5 } }, field: /spec\.nodeAuthorization\.probeNodes/ },
  { name: 'unknown rotation trigger', spec: { legacyTokens: { rotateOn: ['Sometimes'] } }, field: /spec\.legacyTokens\.rotateOn\[0\]: Unsupported value/ },
  { name: 'duplicate rotation trigger', spec: { legacyTokens: { rotateOn: ['InvalidToken', 'InvalidToken'] } }, field: /spec\.legacyTokens\.rotateOn\[1\]: Duplicate value/ },
  { name: 'MaxAge trigger without maxAge', spec: { legacyTokens: { rotateOn: ['MaxAge'] } }, field: /spec\.legacyTokens\.maxAge/ },
  { name: 'maxAge below 1h', spec: { legacyTokens: { rotateOn: ['MaxAge'], maxAge: '30m' } }, field: /spec\.legacyTokens\.maxAge.*at least 1h/ },
  { name: 'maxAge in days', spec: { legacyTokens: { maxAge: '1d' } }, field: /spec\.legacyTokens\.maxAge/ },
  { name: 'maxAge a number', spec: { legacyTokens: { maxAge: 3600 } }, field: /spec\.legacyTokens\.maxAge/ },
  { name: 'rotationRequestedAt not a timestamp', spec: { legacyTokens: { rotationRequestedAt: 'yesterday' } }, field: /spec\.legacyTokens\.rotationRequestedAt/ },
  { name: 'maxConcurrentRestarts 0', spec: { legacyTokens: { maxConcurrentRestarts: 0 } }, field: /spec\.legacyTokens\.maxConcurrentRestarts/ },
  { name: 'maxConcurrentRestarts 101', spec: { legacyTokens: { maxConcurrentRestarts: 101 } }, field: /spec\.legacyTokens\.maxConcurrentRestarts/ },
  { name: 'rolloutTimeout too short', spec: { legacyTokens: { rolloutTimeout: '5s' } }, field: /spec\.legacyTokens\.rolloutTimeout.*between 10s and 24h/ },
  { name: 'rolloutTimeout too long', spec: { legacyTokens: { rolloutTimeout: '48h' } }, field: /spec\.legacyTokens\.rolloutTimeout/ },
  { name: 'rolloutTimeout in words', spec: { legacyTokens: { rolloutTimeout: 'ten minutes' } }, field: /spec\.legacyTokens\.rolloutTimeout/ },
  { name: 'tokenControllerTimeout too short', spec: { legacyTokens: { tokenControllerTimeout: '1s' } }, field: /spec\.legacyTokens\.tokenControllerTimeout/ },
  { name: 'unknown workload kind', spec: { legacyTokens: { workloadKinds: ['Pod'] } }, field: /spec\.legacyTokens\.workloadKinds\[0\]: Unsupported value/ },
  { name: 'In without values', spec: { legacyTokens: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In' }] } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchExpressions\[0\]\.values/ },
  { name: 'Exists with values', spec: { legacyTokens: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['a'] }] } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchExpressions\[0\]\.values/ },
  { name: 'unknown selector operator', spec: { legacyTokens: { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Like', values: ['a'] }] } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchExpressions\[0\]\.operator: Unsupported value/ },
  { name: 'selector requirement without key', spec: { legacyTokens: { namespaceSelector: { matchExpressions: [{ operator: 'Exists' }] } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchExpressions\[0\]\.key: Required value/ },
  { name: 'invalid label key', spec: { legacyTokens: { namespaceSelector: { matchLabels: { 'bad key!': 'x' } } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchLabels/ },
  { name: 'invalid label value', spec: { legacyTokens: { namespaceSelector: { matchLabels: { env: 'not valid!' } } } }, field: /spec\.legacyTokens\.namespaceSelector\.matchLabels\.env/ },
  { name: 'maxSkew below 1s', spec: { clock: { maxSkew: '500ms' } }, field: /spec\.clock\.maxSkew.*between 1s and 10m/ },
  { name: 'maxSkew above 10m', spec: { clock: { maxSkew: '1h' } }, field: /spec\.clock\.maxSkew/ },
  { name: 'negative maxSkew', spec: { clock: { maxSkew: '-5s' } }, field: /spec\.clock\.maxSkew/ },
  { name: 'reportLegacyMounts not a boolean', spec: { boundTokens: { reportLegacyMounts: 'no' } }, field: /spec\.boundTokens\.reportLegacyMounts/ },
  { name: 'unknown field', spec: { nodeAuthorisation: {} }, field: /spec\.nodeAuthorisation/ },
  { name: 'no spec at all', spec: undefined, field: /spec: Required value/ },
];

test(`${invalid.length} invalid manifests are each rejected with a message naming the field`, async () => {
  assert.ok(invalid.length >= 25);
  const failures: string[] = [];
  for (const [i, c] of invalid.entries()) {
    const manifest = { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: `invalid-${i}` }, ...(c.spec === undefined ? {} : { spec: c.spec }) };
    const r = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    if (r.code === 0) failures.push(`${c.name}: accepted`);
    else if (!c.field.test(r.stderr)) failures.push(`${c.name}: message does not name the field (${c.field}): ${r.stderr.trim()}`);
  }
  assert.equal(failures, [], failures.join('\n'));
  const left = await mustKubectl(cluster, ['get', 'authpolicies', '-o', 'name']);
  assert.is(left.trim(), '', 'nothing invalid was stored');
});

test('the sample is accepted with defaults filled in by the API server', async () => {
  await mustKubectl(cluster, ['apply', '-f', `${ROOT}/config/samples/authpolicy_v1alpha1_authpolicy.yaml`]);
  const stored = await getJson<{ spec: Record<string, Record<string, unknown>> }>(cluster, ['authpolicy', 'cluster']);
  assert.is(stored?.spec.nodeAuthorization?.probeNodes, 3);
  assert.equal(stored?.spec.legacyTokens?.workloadKinds, ['Deployment', 'StatefulSet', 'DaemonSet']);
  assert.is(stored?.spec.legacyTokens?.tokenControllerTimeout, '60s');
  const sample = parse(await readFile(`${ROOT}/config/samples/authpolicy_v1alpha1_authpolicy.yaml`, 'utf8')) as { spec: { clock: { maxSkew: string } } };
  assert.is(sample.spec.clock.maxSkew, '30s');
});

test('the operator, under the RBAC in config/, reconciles the sample: observedGeneration and every condition', async () => {
  operator = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  type Status = { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; lastTransitionTime: string; observedGeneration: number }[] };
  const policy = await waitFor('status.observedGeneration == metadata.generation', async () => {
    const p = await getJson<{ metadata: { generation: number }; status?: Status }>(cluster, ['authpolicy', 'cluster']);
    return p?.status?.observedGeneration === p?.metadata.generation ? p : undefined;
  });
  const types = (policy.status?.conditions ?? []).map((c) => c.type).sort();
  assert.equal(types, ['BoundTokensHealthy', 'ClockSynchronized', 'LegacyTokensReady', 'NodeAuthorizationReady', 'Ready', 'WorkloadsRestarted']);
  for (const c of policy.status?.conditions ?? []) {
    assert.ok(['True', 'False', 'Unknown'].includes(c.status), `${c.type} has a status`);
    assert.match(c.reason, /^[A-Z][A-Za-z]+$/, `${c.type} reason is CamelCase`);
    assert.ok(c.lastTransitionTime, `${c.type} has lastTransitionTime`);
    assert.is(c.observedGeneration, policy.metadata.generation);
  }
  const printed = await mustKubectl(cluster, ['get', 'authpolicy']);
  assert.match(printed, /NAME\s+READY\s+NODEAUTH\s+TOKENS\s+CLOCK\s+AGE/);
  assert.not.match(printed, /forbidden/i);
  const denied = operator.logs.filter((l) => /forbidden/i.test(JSON.stringify(l)));
  assert.equal(denied, [], 'the operator was never denied');
});

test('a second, newer AuthPolicy reports Conflict and takes no action', async () => {
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'newer' }, spec: {} }) });
  const ready = await waitFor('authpolicy/newer Ready=False reason Conflict', async () => {
    const p = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(cluster, ['authpolicy', 'newer']);
    return p?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'Conflict');
  });
  assert.is(ready.status, 'False');
  assert.match(ready.message, /cluster/);
  const events = await mustKubectl(cluster, ['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=newer', '-o', 'jsonpath={.items[*].reason}']);
  assert.match(events, /Conflict/);
});

test.run();

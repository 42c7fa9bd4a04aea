// The AuthPolicy API on a real API server: bad manifests are rejected at apply
// time with a message naming the field (and by check -f, with and without the
// CRD installed), and the sample is accepted and reconciled by the operator
// running under the RBAC in config/.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { InvalidManifestError, validateManifest } from '../../src/cli/check.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { FIELD_ERROR, invalidEnvelopes, invalidPolicies, manifestOf } from '../fixtures/invalid-policies.ts';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('AuthPolicy API');
let cluster: Cluster;
let operator: OperatorProcess | undefined;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
});
test.after(async () => {
  await operator?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

/** `check -f`'s validation, in-process with a real client: every refusal names the field and shows no JavaScript internals. */
async function checkRefusals(expect: 'server' | 'schema'): Promise<string[]> {
  const client = KubeClient.fromOptions({ kubeconfig: cluster.adminKubeconfig });
  const failures: string[] = [];
  const cases = [...invalidPolicies.map((c, i) => ({ name: c.name, manifest: manifestOf(c, `invalid-${i}`), field: c.field })), ...invalidEnvelopes];
  for (const c of cases) {
    try {
      await validateManifest(client, `${c.name}.yaml`, c.manifest);
      failures.push(`${c.name}: accepted`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof InvalidManifestError)) failures.push(`${c.name}: not a refusal: ${message}`);
      else if (!c.field.test(message)) failures.push(`${c.name}: does not name the field (${c.field}): ${message}`);
      else if (INTERNALS.test(message)) failures.push(`${c.name}: JavaScript or CEL internals: ${message}`);
      else if (
        !/^(apiVersion|kind|metadata)/.test(c.field.source) &&
        !message.includes(expect === 'server' ? 'refused by the API server' : 'shipped CRD schema')
      )
        failures.push(`${c.name}: not validated by the ${expect}: ${message}`);
    }
  }
  return failures;
}
const INTERNALS = /Cannot read|undefined|TypeError|\.ts:\d|google\.protobuf|type conversion|no such overload/;

test(`without the CRD installed, check -f refuses ${invalidPolicies.length + invalidEnvelopes.length} invalid manifests against the shipped schema, naming the field`, async () => {
  assert.equal(await checkRefusals('schema'), []);
  // The real executable: exit 2 and the field, for a typo and for a manifest with no metadata.
  for (const [name, manifest, field] of [
    [
      'typo',
      { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: { clock: { maxskew: '30s' } } },
      /spec\.clock\.maxskew/,
    ],
    ['no-metadata', { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', spec: {} }, /metadata\.name: Required value/],
  ] as const) {
    const file = join(cluster.dir, `${name}.yaml`);
    await writeFile(file, stringify(manifest));
    const r = await runCheck(cluster, ['-f', file]);
    assert.is(r.code, 2, `${name}: exit 2 (${r.stdout}${r.stderr})`);
    assert.match(r.stderr, field);
    assert.not.match(r.stderr, INTERNALS);
  }
});

test(`${invalidPolicies.length} invalid manifests, applied as Argo CD applies them, are each refused by the API server naming the field; check -f refuses them by server-side dry run`, async () => {
  await installOperatorPrereqs(cluster);
  assert.ok(invalidPolicies.length >= 60);
  const failures: string[] = [];
  for (const [i, c] of invalidPolicies.entries()) {
    const r = await cluster.kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], {
      input: JSON.stringify(manifestOf(c, `invalid-${i}`)),
    });
    if (r.code === 0) failures.push(`${c.name}: accepted`);
    else if (!c.field.test(r.stderr)) failures.push(`${c.name}: message does not name the field (${c.field}): ${r.stderr.trim()}`);
    else if (INTERNALS.test(r.stderr)) failures.push(`${c.name}: CEL internals: ${r.stderr.trim()}`);
    else if (/Timeout|maxAge|maxSkew/.test(c.name) && (r.stderr.match(FIELD_ERROR) ?? []).length !== 1)
      failures.push(`${c.name}: not one error: ${r.stderr.trim()}`);
  }
  assert.equal(failures, [], failures.join('\n'));
  assert.equal(await checkRefusals('server'), []);
  const left = await mustKubectl(cluster, ['get', 'authpolicies', '-o', 'name']);
  assert.is(left.trim(), '', 'nothing invalid was stored, by kubectl or by check');
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
  type Status = {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; lastTransitionTime: string; observedGeneration: number }[];
  };
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
  assert.match(printed, /NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+CLOCK\s+AGE/);
  const wide = await mustKubectl(cluster, ['get', 'authpolicy', '-o', 'wide']);
  assert.match(wide, /NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+RESTARTS\s+CLOCK\s+BOUNDTOKENS\s+DRYRUN\s+AGE\s+MESSAGE/);
  assert.not.match(printed, /forbidden/i);
  const denied = operator.logs.filter((l) => /forbidden/i.test(JSON.stringify(l)));
  assert.equal(denied, [], 'the operator was never denied');
});

test('a second, newer AuthPolicy reports Conflict and takes no action', async () => {
  await mustKubectl(cluster, ['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'newer' }, spec: {} }),
  });
  const ready = await waitFor('authpolicy/newer Ready=False reason Conflict', async () => {
    const p = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(cluster, [
      'authpolicy',
      'newer',
    ]);
    return p?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'Conflict');
  });
  assert.is(ready.status, 'False');
  assert.match(ready.message, /^AuthPolicy cluster is the active policy because it is older \(created .*\); this one takes no action\. Delete one of them/);
  const printed = await mustKubectl(cluster, ['get', 'authpolicy', 'newer']);
  assert.match(printed, /^newer\s+False\s+Conflict\s/m, 'kubectl get shows why it is not ready');
  const events = await mustKubectl(cluster, [
    'get',
    'events',
    '-n',
    'default',
    '--field-selector',
    'involvedObject.name=newer',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  assert.match(events, /Conflict/);
});

test.run();

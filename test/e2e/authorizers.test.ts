// Authorizers and NodeRestriction from evidence, with the API server's flags hidden
// (the harness runs kube-apiserver as a process, not a static pod, as a managed
// control plane would): structured authorization (--authorization-config naming
// Node and RBAC, then RBAC only), read from /metrics and SubjectAccessReviews; and
// NodeRestriction on and off, read from a dry-run patch that changes no object.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('authorizers from evidence');
let cluster: Cluster;
let op: OperatorProcess;

interface Summary {
  nodes: number;
  authorizer: string;
  nodeAuthorizer: { present: boolean | 'Unknown'; evidence: Record<string, string>; decidingAuthorizers?: string[] };
  nodeRestriction: { state: string; source: string; detail: string };
  apiserverFlags: { visible: boolean };
}
const summary = async (): Promise<Summary | undefined> => await areaStatus<Summary>(cluster, 'cluster', 'nodeAuthorization');
const waitForSummary = async (what: string, ok: (s: Summary) => boolean): Promise<Summary> => {
  let last: Summary | undefined;
  try {
    return await waitFor(
      `status.nodeAuthorization: ${what}`,
      async () => {
        last = await summary();
        return last && ok(last) ? last : undefined;
      },
      { timeoutMs: 90_000 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
  }
};
const policy = (spec: Record<string, unknown>): Promise<string> =>
  apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec });
const nodeVersions = async (): Promise<string> =>
  await mustKubectl(cluster, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}']);
const probePatches = async (): Promise<number> => metricValue(await op.metrics(), 'authpolicy_api_requests_total', { verb: 'PATCH', resource: 'nodes' }) ?? 0;

test.before(async () => {
  cluster = await startCluster({ authorizationConfig: ['Node', 'RBAC'], scheduler: false });
  await installOperatorPrereqs(cluster);
  // config/rbac plus the component that lets the operator impersonate its one probe identity.
  const overlay = await mkdtemp(join(cluster.dir, 'overlay-'));
  await writeFile(
    join(overlay, 'kustomization.yaml'),
    `resources: [${relative(overlay, join(ROOT, 'config/rbac'))}]\ncomponents: [${relative(overlay, join(ROOT, 'config/components/noderestriction-probe'))}]\n`,
  );
  await mustKubectl(cluster, ['apply', '--server-side', '-k', overlay]);
  for (const name of ['node-a', 'node-b']) await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
});
test.after(async () => {
  await (op as OperatorProcess | undefined)?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('--authorization-config with Node and RBAC, no static pod: the Node authorizer is reported from the probe and /metrics, and says so', async () => {
  await policy({ nodeAuthorization: { mode: 'NodeAuthorizer' } });
  // The probe and /metrics are read in turn (the metrics at most every 30 s): wait for the message to carry both;
  // a generous deadline, as the Node authorizer's first counted decision waits on the probe's impersonated request,
  // which on a loaded 2-core machine (two e2e files at once) has taken over 90 s.
  const c = await waitForCondition(
    cluster,
    'cluster',
    'NodeAuthorizationReady',
    (x) => x.reason === 'NodeAuthorizer' && /metrics: apiserver_authorization_decisions_total counts decisions by Node authorizer/.test(x.message),
    240_000,
  );
  assert.is(c.status, 'True');
  assert.match(c.message, /probe: the Node authorizer answered all \d+ kubelet SubjectAccessReviews/);
  assert.match(c.message, /metrics: apiserver_authorization_decisions_total counts decisions by Node authorizer "node"/);
  assert.match(c.message, /flags: no kube-apiserver static pod is visible/);
  const s = await waitForSummary('the Node authorizer present', (x) => x.nodeAuthorizer.present === true);
  assert.is(s.authorizer, 'Node');
  assert.is(s.apiserverFlags.visible, false);
  assert.match(s.nodeAuthorizer.evidence.metrics ?? '', /^present: /);
  assert.ok(s.nodeAuthorizer.decidingAuthorizers?.includes('Node/node'), JSON.stringify(s.nodeAuthorizer));
  assert.ok(s.nodeAuthorizer.decidingAuthorizers?.includes('RBAC/rbac'), JSON.stringify(s.nodeAuthorizer));
  // Opted out, NodeRestriction is unknown (flags hidden), not guessed.
  assert.is(s.nodeRestriction.state, 'Unknown');
  assert.match(c.message, /NodeRestriction: unknown/);
});

test('NodeRestriction on, flags hidden: the opt-in probe finds it enabled, runs once per key, and changes no Node', async () => {
  const before = await nodeVersions();
  await policy({ nodeAuthorization: { mode: 'NodeAuthorizer', probeNodeRestriction: true } });
  const s = await waitForSummary('NodeRestriction enabled by the probe', (x) => x.nodeRestriction.state === 'Enabled');
  assert.is(s.nodeRestriction.source, 'probe');
  assert.match(s.nodeRestriction.detail, /dry-run label patch of node node-a as system:node:authpolicy-noderestriction-probe .* refused by NodeRestriction/);
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => /NodeRestriction: enabled \(probe/.test(x.message));
  assert.is(c.status, 'True');
  // More reconciles with the same key (a new Node that is not the target) send no further probe.
  const patches = await probePatches();
  assert.ok(patches >= 1, `the probe sent its patch (${patches})`);
  await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-c' } });
  await waitForSummary('3 nodes counted', (x) => x.nodes === 3);
  assert.is(await probePatches(), patches, 'no second probe for the same target, API server and policy');
  await mustKubectl(cluster, ['delete', 'node', 'node-c']);
  await waitForSummary('2 nodes counted', (x) => x.nodes === 2);
  assert.is(await nodeVersions(), before, 'no Node object changed');
  assert.not.match(await mustKubectl(cluster, ['get', 'nodes', '--show-labels']), /noderestriction-probe/);
});

test('NodeRestriction off (--disable-admission-plugins), flags hidden: NodeRestrictionDisabled from the probe; on again: enabled; no Node changed', async () => {
  const before = await nodeVersions();
  await cluster.restart({ nodeRestriction: false });
  const off = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeRestrictionDisabled', 90_000);
  assert.is(off.status, 'False');
  assert.match(off.message, /NodeRestriction \(probe\): a dry-run label patch of node node-a .* was accepted/);
  assert.is((await summary())?.nodeRestriction.source, 'probe');
  assert.is(await nodeVersions(), before, 'the accepted dry-run patch stored nothing');
  await cluster.restart({ nodeRestriction: true });
  await waitForCondition(
    cluster,
    'cluster',
    'NodeAuthorizationReady',
    (x) => x.reason === 'NodeAuthorizer' && /NodeRestriction: enabled \(probe/.test(x.message),
    90_000,
  );
  assert.is(await nodeVersions(), before, 'no Node object changed');
});

test('switched to an --authorization-config with RBAC only: the Node authorizer is reported absent, from the probe and /metrics', async () => {
  await cluster.restart({ authorizationConfig: ['RBAC'] });
  const c = await waitForCondition(
    cluster,
    'cluster',
    'NodeAuthorizationReady',
    (x) => x.reason === 'NodeAuthorizerDisabled' && /metrics: apiserver_authorization_decisions_total counts no Node authorizer/.test(x.message),
    90_000,
  );
  assert.is(c.status, 'False');
  assert.match(c.message, /probe: \d+ of \d+ kubelet SubjectAccessReviews were not answered by the Node authorizer/);
  assert.match(c.message, /metrics: apiserver_authorization_decisions_total counts no Node authorizer decision \(authorizers deciding: RBAC\/rbac\)/);
  const s = await waitForSummary('the Node authorizer absent', (x) => x.nodeAuthorizer.present === false);
  assert.match(s.nodeAuthorizer.evidence.metrics ?? '', /^absent: /);
  assert.equal(s.nodeAuthorizer.decidingAuthorizers, ['RBAC/rbac']);
  // Without the Node authorizer the probe's patch is refused before admission: Unknown, not a guess.
  assert.is(s.nodeRestriction.state, 'Unknown');
  assert.match(s.nodeRestriction.detail, /authorization refused the probe's dry-run patch/);
});

test.run();

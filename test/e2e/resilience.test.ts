// One failure stays one failure, on a real control plane: the operator started
// before its CRD says so and picks the CRD up; a permission taken from its
// ClusterRole makes only the areas that need it Unknown (naming what to grant),
// and giving it back heals them within seconds, without a restart; API-server
// restarts in a row leave status current within 30 s, with no 409 logged above
// debug and no Warning Event.
import { execFile } from 'node:child_process';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, OPERATOR_NAMESPACE, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson, waitForCondition, type ConditionView } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('resilience');
let cluster: Cluster;
let op: OperatorProcess | undefined;
const POLICY = { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: { clock: { maxSkew: '30s' } } };
const AREA_CONDITIONS = ['NodeAuthorizationReady', 'LegacyTokensReady', 'ClockSynchronized', 'BoundTokensHealthy'];

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await mustKubectl(cluster, ['create', 'namespace', OPERATOR_NAMESPACE]);
  await mustKubectl(cluster, ['apply', '--server-side', '-k', `${ROOT}/config/rbac`]); // no CRD yet
});
test.after(async () => {
  await op?.stop('SIGKILL');
  await (cluster as Cluster | undefined)?.stop();
});

async function startOp(): Promise<OperatorProcess> {
  await op?.stop();
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  return op;
}

async function conditions(): Promise<Map<string, ConditionView>> {
  const p = await getJson<{ metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: ConditionView[] } }>(cluster, [
    'authpolicy',
    'cluster',
  ]);
  return new Map((p?.status?.conditions ?? []).map((c) => [c.type, c]));
}
const brief = (m: Map<string, ConditionView>): string => [...m.values()].map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`).join('\n');

/** Waits until every listed condition is True (within timeoutMs), returning when it happened. */
async function allTrue(types: readonly string[], timeoutMs: number, what: string): Promise<number> {
  let last = new Map<string, ConditionView>();
  await waitFor(
    what,
    async () => {
      last = await conditions();
      return types.every((t) => last.get(t)?.status === 'True');
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${brief(last)}`, { cause: err });
  });
  return Date.now();
}

/** the operator's ClusterRole before a test trimmed it; given back after each test, whatever happened */
let original: Record<string, unknown> | undefined;
test.after.each(async () => {
  if (original) await restoreRole();
});
/** The operator's ClusterRole with one verb taken from the rule for `resource` (the original kept for restoreRole). */
async function withoutVerb(resource: string, verb: string): Promise<void> {
  const role = await getJson<{ metadata: Record<string, unknown>; rules: { resources?: string[]; verbs: string[] }[] }>(cluster, [
    'clusterrole',
    'authpolicy-operator',
  ]);
  if (!role) throw new Error('no ClusterRole authpolicy-operator');
  original = { ...role, metadata: { name: role.metadata.name } };
  const rules = role.rules
    .map((r) => (r.resources?.includes(resource) ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
    .filter((r) => r.verbs.length > 0);
  await mustKubectl(cluster, ['replace', '-f', '-'], { input: JSON.stringify({ ...role, rules }) });
}
async function restoreRole(): Promise<void> {
  if (!original) return;
  await mustKubectl(cluster, ['replace', '-f', '-'], { input: JSON.stringify(original) });
  original = undefined;
}

function cli(command: string, args: string[], kubeconfig = cluster.adminKubeconfig): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}/src/cli/main.ts`, command, `--kubeconfig=${kubeconfig}`, ...args],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}
const status = (args: string[]): Promise<{ code: number; stderr: string }> => cli('status', args);

test('started before its CRD: the operator says the CRD is missing by name, status --name too; installed, it is picked up without a restart', async () => {
  const o = await startOp();
  const missing = await o.waitForLog('the AuthPolicy CRD is not installed', (l) =>
    /AuthPolicy CRD \(authpolicies\.authpolicy\.io\) is not installed: kubectl apply --server-side -k config\/crd/.test(String(l.error)),
  );
  assert.is(missing.level, 'warn');
  assert.is(o.logs.filter((l) => /AuthPolicy CRD/.test(String(l.error)) && l.level !== 'debug').length, 1, 'said once, not once per retry');
  const s = await status(['--name', 'cluster']);
  assert.is(s.code, 2);
  assert.match(s.stderr, /^status: the AuthPolicy API \(authpolicies\.authpolicy\.io\) is not installed, so there is no authpolicy cluster: kubectl apply/);
  await installOperatorPrereqs(cluster);
  await apply(cluster, POLICY);
  await allTrue(['Ready', ...AREA_CONDITIONS], 60_000, 'every condition True once the CRD is installed');
  assert.is(o.child.exitCode, null, 'no restart');
});

// Two cache permissions (an informer cannot list) and one request permission (a review cannot be created).
for (const { resource, verb, blocked, partly, denied, grant, cache } of [
  // Bound tokens read the Secret cache only to tell which mounted Secrets are legacy tokens: True, saying what it could not check.
  {
    resource: 'secrets',
    verb: 'list',
    blocked: ['LegacyTokensReady'],
    partly: 'BoundTokensHealthy',
    denied: 'list secrets',
    grant: 'list and watch secrets',
    cache: true,
  },
  { resource: 'nodes', verb: 'list', blocked: ['NodeAuthorizationReady'], denied: 'list nodes', grant: 'list and watch nodes', cache: true },
  {
    resource: 'subjectaccessreviews',
    verb: 'create',
    blocked: ['NodeAuthorizationReady'],
    denied: 'create subjectaccessreviews.authorization.k8s.io',
    grant: 'create subjectaccessreviews.authorization.k8s.io',
    cache: false,
  },
]) {
  test(`without ${verb} ${resource}: only the areas needing it are Unknown, naming it; given back, all True within 30 s, no restart`, async () => {
    await withoutVerb(resource, verb);
    const o = await startOp();
    const started = Date.now();
    const healthy = AREA_CONDITIONS.filter((t) => !blocked.includes(t));
    let last = new Map<string, ConditionView>();
    await waitFor(
      `${blocked.join(', ')} Unknown naming ${denied}, the others True`,
      async () => {
        last = await conditions();
        return (
          healthy.every((t) => last.get(t)?.status === 'True') &&
          blocked.every(
            (t) => last.get(t)?.status === 'Unknown' && last.get(t)?.reason === 'Forbidden' && last.get(t)?.message.includes(`may not ${denied} cluster-wide`),
          )
        );
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${brief(last)}`, { cause: err });
    });
    assert.ok(Date.now() - started < 60_000);
    assert.match(last.get(blocked[0] ?? '')?.message ?? '', `grant ${grant} cluster-wide`);
    if (partly)
      assert.match(last.get(partly)?.message ?? '', `were not checked: the operator may not ${denied} cluster-wide`, `${partly} says what it could not check`);
    // /readyz: the replica serves (the AuthPolicy cache synced) and says which cache is not synced and why.
    const readyz = await fetch(`${await o.healthUrl()}/readyz`);
    assert.is(readyz.status, 200);
    const body = await readyz.text();
    if (cache) assert.match(body, new RegExp(`^cache \\S+ not synced: .*cannot list resource "${resource}"`, 'm'), body);
    else assert.is(body, 'ok');
    if (cache) {
      // `check` with the same permissions: the same areas Unknown, naming it as the permission of the user check runs
      // as (a one-shot check is rerun with a kubeconfig that has it); the others checked (exit 2: could not check everything).
      const c = await cli('check', ['--timeout', '30s'], await operatorKubeconfig(cluster));
      assert.is(c.code, 2, c.stderr + c.stdout);
      for (const t of blocked)
        assert.match(
          c.stdout,
          new RegExp(`^${t}\\s+Unknown\\s+Forbidden\\s+the user check runs as \\(\\S+\\) may not ${denied} cluster-wide: run check again`, 'm'),
          c.stdout,
        );
      for (const t of healthy) assert.match(c.stdout, new RegExp(`^${t}\\s+(True|False)\\s`, 'm'), c.stdout);
    }

    const restoredAt = Date.now();
    await restoreRole();
    const healedAt = await allTrue(['Ready', ...AREA_CONDITIONS], 30_000, `every condition True after ${verb} ${resource} was given back`);
    assert.ok(healedAt - restoredAt <= 30_000, `healed ${healedAt - restoredAt} ms after the permission was restored`);
    assert.is(o.child.exitCode, null, 'no restart');
  });
}

test('three API-server restarts in a row during reconciles: status current within 30 s of the last, no 409 above debug, no Warning Event', async () => {
  const o = await startOp();
  await allTrue(['Ready'], 60_000, 'Ready before the restarts');
  let skew = 30;
  for (let i = 0; i < 3; i++) {
    // A spec change right before the restart: its reconcile and status write race the restart.
    await mustKubectl(cluster, ['patch', 'authpolicy', 'cluster', '--type=merge', '-p', JSON.stringify({ spec: { clock: { maxSkew: `${++skew}s` } } })]);
    await cluster.restart();
  }
  const lastRestartAt = Date.now();
  const generation = (await getJson<{ metadata: { generation: number } }>(cluster, ['authpolicy', 'cluster']))?.metadata.generation;
  const ready = await waitForCondition(cluster, 'cluster', 'Ready', (c) => c.status === 'True', 30_000).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}\n${brief(await conditions())}`, { cause: err });
  });
  assert.is(ready.observedGeneration, generation);
  assert.ok(Date.now() - lastRestartAt <= 30_000);
  const conflicts = o.logs.filter((l) => l.level !== 'debug' && /: 409 |Conflict/.test(`${l.message} ${JSON.stringify(l.error ?? '')}`));
  assert.equal(conflicts, [], 'no 409 logged above debug');
  const events = await getJson<{ items: { type: string; reason: string; message: string }[] }>(cluster, [
    'events',
    '-A',
    '--field-selector',
    'type=Warning,involvedObject.kind=AuthPolicy',
  ]);
  assert.equal(
    events?.items.map((e) => `${e.reason}: ${e.message}`),
    [],
    'no Warning Event on the AuthPolicy',
  );
  assert.is(o.child.exitCode, null);
});

test.run();

// The node-authorization act over the in-memory API server: creating, repairing and deleting
// the system:node binding, with the resourceVersion the plan judged, and Events for each.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { actNodeAuthorization } from '../../../src/areas/nodeauth/act.ts';
import type { NodeAuthAction, NodeAuthPlan } from '../../../src/areas/nodeauth/plan.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import { bindingPath, nodeBinding } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const planOf = (actions: NodeAuthAction[], options: { dryRun?: boolean; refusals?: NodeAuthPlan['refusals'] } = {}): NodeAuthPlan => ({
  actions,
  refusals: options.refusals ?? [],
  dryRun: options.dryRun ?? false,
  report: { conditions: [{ type: 'NodeAuthorizationReady', status: 'True', reason: 'NodeAuthorizerActive', message: 'ok' }], findings: [], summary: {} },
});
async function act(client: MemoryClient, plan: NodeAuthPlan) {
  const { ctx, events, logs } = memoryContext(client, new TestClock(), resolveSpec({}));
  let error: unknown;
  const report = await actNodeAuthorization(ctx, plan).catch((err: unknown) => {
    error = err;
    return undefined;
  });
  return { report, events, logs, error, reasons: events.map((e) => `${e.type}/${e.reason}`) };
}
const subjects = (client: MemoryClient): string[] => ((client.peek(bindingPath)?.subjects ?? []) as { name: string }[]).map((s) => s.name);

const test = suite('nodeAuthorization act');

test("create: POSTs the legacy binding, labelled as the operator's, and records LegacyBindingCreated", async () => {
  const client = new MemoryClient();
  const r = await act(client, planOf([{ kind: 'create', why: 'kubelets are denied' }]));
  assert.is(r.error, undefined);
  assert.equal(
    client.calls.map((c) => c.verb),
    ['create'],
  );
  assert.equal(subjects(client), ['system:nodes']);
  assert.is((client.peek(bindingPath)?.metadata.labels as Record<string, string>)['app.kubernetes.io/managed-by'], 'authpolicy-operator');
  assert.equal(r.reasons, ['Normal/LegacyBindingCreated']);
  assert.match(r.events[0]?.message ?? '', /created clusterrolebinding\/system:node: kubelets are denied/);
});

test('delete: with the resourceVersion the plan judged; already gone is fine', async () => {
  const client = new MemoryClient();
  const stored = client.seed(bindingPath, nodeBinding());
  const r = await act(client, planOf([{ kind: 'delete', why: 'the Node authorizer works' }]));
  assert.is(r.error, undefined);
  assert.is(client.peek(bindingPath), undefined);
  assert.equal((client.callsOf('delete')[0]?.body as { preconditions: unknown }).preconditions, { resourceVersion: stored.metadata.resourceVersion });
  assert.equal(r.reasons, ['Normal/LegacyBindingDeleted']);
  const again = await act(client, planOf([{ kind: 'delete', why: 'the Node authorizer works' }]));
  assert.is(again.error, undefined, 'a 404 on delete is what was wanted');
});

test('delete of a binding changed since it was judged is a conflict, and nothing is deleted', async () => {
  const client = new MemoryClient();
  client.seed(bindingPath, nodeBinding());
  client.fail('delete', bindingPath, 409);
  const r = await act(client, planOf([{ kind: 'delete', why: 'x' }]));
  assert.ok(isConflict(r.error));
  assert.ok(client.peek(bindingPath), 'still there');
  assert.equal(r.reasons, [], 'no Event claims a deletion that did not happen');
});

test('repair: reads the full object and replaces it with the legacy shape, keeping the judged resourceVersion', async () => {
  const client = new MemoryClient();
  client.seed(
    bindingPath,
    nodeBinding(
      [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' },
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'eve' },
      ],
      { 'app.kubernetes.io/managed-by': 'authpolicy-operator' },
    ),
  );
  const r = await act(client, planOf([{ kind: 'repair', why: 'extra subjects', removedSubjects: [{ kind: 'User', name: 'eve' }] }]));
  assert.is(r.error, undefined);
  assert.equal(
    client.calls.map((c) => c.verb),
    ['get', 'replace'],
  );
  assert.equal(subjects(client), ['system:nodes']);
  assert.match(r.events[0]?.message ?? '', /repaired clusterrolebinding\/system:node: extra subjects \(removed subjects: User eve\)/);
});

test('repair of a binding someone changed after the plan read it: 409, not overwritten', async () => {
  const client = new MemoryClient();
  client.seed(
    bindingPath,
    nodeBinding([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'eve' },
    ]),
  );
  const { ctx } = memoryContext(client, new TestClock(), resolveSpec({}));
  const judged = ctx.cache((await import('../../../src/areas/nodeauth/caches.ts')).bindingCache);
  const seen = judged.get('system:node'); // what the plan judged
  client.poke(bindingPath, (o) => {
    o.subjects = [...(o.subjects as object[]), { kind: 'User', name: 'mallory' }];
  });
  const frozen = { ...ctx, cache: (() => ({ get: () => seen, list: () => (seen ? [seen] : []) })) as unknown as typeof ctx.cache };
  const error = await actNodeAuthorization(frozen, planOf([{ kind: 'repair', why: 'x', removedSubjects: [] }])).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isConflict(error));
  assert.equal(subjects(client), ['system:nodes', 'eve', 'mallory'], 'the newer object is left as it is');
});

test('dry run and refusals: Events only, no request', async () => {
  const client = new MemoryClient();
  const r = await act(
    client,
    planOf([{ kind: 'create', why: 'kubelets are denied' }], {
      dryRun: true,
      refusals: [{ reason: 'LegacyBindingNotRemoved', message: 'it has extra subjects' }],
    }),
  );
  assert.equal(r.reasons, ['Warning/LegacyBindingNotRemoved', 'Normal/DryRun']);
  assert.match(r.events[1]?.message ?? '', /would create clusterrolebinding\/system:node: kubelets are denied/);
  assert.is(client.calls.length, 0);
});

test("a forbidden create fails the area with the API's own error", async () => {
  const client = new MemoryClient().fail('create', /clusterrolebindings$/, 403);
  const r = await act(client, planOf([{ kind: 'create', why: 'x' }]));
  assert.match(String(r.error), /403 Forbidden/);
  assert.equal(r.reasons, []);
});

test.run();

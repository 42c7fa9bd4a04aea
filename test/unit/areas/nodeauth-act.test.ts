// The node-authorization act over the in-memory API server: creating, repairing and deleting
// the system:node binding, each write conditioned on the version the plan judged, and Events for
// each. A binding changed between plan and act is a 409 and a fresh plan, never a stale write.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AuthPolicySpec } from '../../../src/api/types.ts';
import { actNodeAuthorization, MAX_REPLANS, writePlan } from '../../../src/areas/nodeauth/act.ts';
import { bindingCache } from '../../../src/areas/nodeauth/caches.ts';
import { createReplanner } from '../../../src/areas/nodeauth/replan.ts';
import type { AreaContext } from '../../../src/areas/area.ts';
import { planNodeAuthorization, type NodeAuthAction, type NodeAuthPlan } from '../../../src/areas/nodeauth/plan.ts';
import type { GrantedBy } from '../../../src/areas/nodeauth/probe.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import { bindingPath, nodeBinding } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';
import { observation } from './nodeauth-fixtures.ts';

const rbac = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
const OURS = { 'app.kubernetes.io/managed-by': 'authpolicy-operator' };

const planOf = (actions: NodeAuthAction[], options: { dryRun?: boolean; refusals?: NodeAuthPlan['refusals'] } = {}): NodeAuthPlan => ({
  actions,
  refusals: options.refusals ?? [],
  dryRun: options.dryRun ?? false,
  report: { conditions: [{ type: 'NodeAuthorizationReady', status: 'True', reason: 'NodeAuthorizerActive', message: 'ok' }], findings: [], summary: {} },
});
const noReplan = (): Promise<NodeAuthPlan> => Promise.reject(new Error('no fresh plan expected'));
async function act(client: MemoryClient, plan: NodeAuthPlan) {
  const { ctx, events, logs } = memoryContext(client, new TestClock(), resolveSpec({}));
  let error: unknown;
  const report = await actNodeAuthorization(ctx, plan, noReplan).catch((err: unknown) => {
    error = err;
    return undefined;
  });
  return { report, events, logs, error, reasons: events.map((e) => `${e.type}/${e.reason}`) };
}
const subjects = (client: MemoryClient): string[] => ((client.peek(bindingPath)?.subjects ?? []) as { name: string }[]).map((s) => s.name);

/**
 * The area as the operator runs it, over the in-memory server: a plan judged from the cache, then
 * `between` (another writer) before act, and fresh plans from the binding as the server has it.
 */
async function planThenAct(options: { seed?: object; spec?: AuthPolicySpec; by: GrantedBy; between: (client: MemoryClient) => void }) {
  const client = new MemoryClient();
  if (options.seed) client.seed(bindingPath, options.seed);
  const spec = resolveSpec(options.spec ?? {});
  const { ctx, events } = memoryContext(client, new TestClock(), spec);
  const plan = planNodeAuthorization(spec, observation(options.by, ctx.cache(bindingCache).get('system:node')));
  const fresh: NodeAuthPlan[] = [];
  // The area's replanner, over an observer whose probes answer `by` and whose binding is the one it is given.
  const replanner = createReplanner((_ctx, given) => Promise.resolve(observation(options.by, given ? given.binding : undefined)));
  const replan = async (c: AreaContext): Promise<NodeAuthPlan> => {
    const p = await replanner(c);
    fresh.push(p);
    return p;
  };
  options.between(client);
  const report = await actNodeAuthorization(ctx, plan, replan);
  const condition = report.conditions[0];
  return {
    client,
    planned: plan.actions.map((a) => a.kind),
    replanned: fresh.map((p) => p.actions.map((a) => a.kind)),
    verdict: `${condition?.status}/${condition?.reason}`,
    reasons: events.map((e) => `${e.type}/${e.reason}`),
    events,
    writes: client.calls.filter((c) => c.verb !== 'get').map((c) => c.verb),
  };
}

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

test('delete: with the resourceVersion and uid the plan judged as preconditions; already gone is fine', async () => {
  const client = new MemoryClient();
  const stored = client.seed(bindingPath, nodeBinding());
  const judged = { resourceVersion: stored.metadata.resourceVersion ?? '', uid: String(stored.metadata.uid) };
  const r = await act(client, planOf([{ kind: 'delete', why: 'the Node authorizer works', judged }]));
  assert.is(r.error, undefined);
  assert.is(client.peek(bindingPath), undefined);
  assert.equal((client.callsOf('delete')[0]?.body as { preconditions: unknown }).preconditions, judged);
  assert.equal(r.reasons, ['Normal/LegacyBindingDeleted']);
  const again = await act(client, planOf([{ kind: 'delete', why: 'the Node authorizer works', judged }]));
  assert.is(again.error, undefined, 'a 404 on delete is what was wanted');
});

test('a binding deleted and recreated since it was judged (another uid) is not deleted', async () => {
  const client = new MemoryClient();
  const stored = client.seed(bindingPath, nodeBinding());
  const { ctx } = memoryContext(client, new TestClock(), resolveSpec({}));
  const outcome = await writePlan(
    ctx,
    planOf([{ kind: 'delete', why: 'x', judged: { resourceVersion: stored.metadata.resourceVersion ?? '', uid: 'uid-gone' } }]),
  );
  assert.is(outcome.kind, 'changed');
  assert.ok(outcome.kind === 'changed' && isConflict(outcome.error));
  assert.ok(client.peek(bindingPath), 'still there');
});

test('stale delete: a legacy binding that gains a subject after the plan judged it is kept (409, then bindingGrantsMore)', async () => {
  const r = await planThenAct({
    seed: nodeBinding(),
    by: 'Node',
    between: (client) => {
      client.poke(bindingPath, (o) => {
        o.subjects = [...(o.subjects as object[]), rbac('User', 'mallory')];
      });
    },
  });
  assert.equal(r.planned, ['delete'], 'the plan judged the exact legacy shape');
  assert.equal(r.writes, ['delete'], 'one delete, refused by the server');
  assert.equal(subjects(r.client), ['system:nodes', 'mallory'], 'the changed binding is still there');
  assert.equal(r.replanned, [[]], 'the fresh plan decides from the new binding: nothing to write');
  assert.is(r.verdict, 'False/LegacyBindingHasExtraSubjects');
  assert.equal(r.reasons, ['Warning/LegacyBindingHasExtraSubjects'], 'no Event claims a deletion');
  assert.match(r.events[0]?.message ?? '', /User mallory/);
});

test('stale repair: a binding changed after the plan read it is not overwritten; the fresh plan repairs the new version', async () => {
  const r = await planThenAct({
    seed: nodeBinding([rbac('Group', 'system:nodes'), rbac('User', 'eve')], OURS),
    spec: { nodeAuthorization: { mode: 'LegacyBinding' } },
    by: 'RBAC',
    between: (client) => {
      client.poke(bindingPath, (o) => {
        o.subjects = [...(o.subjects as object[]), rbac('User', 'mallory')];
      });
    },
  });
  assert.equal(r.planned, ['repair']);
  assert.equal(r.writes, ['replace', 'replace'], 'the first replace (judged version) is a 409; the second carries the new one');
  assert.equal(r.replanned, [['repair']]);
  assert.equal(subjects(r.client), ['system:nodes']);
  assert.equal(r.reasons, ['Normal/LegacyBindingRepaired']);
  assert.match(r.events[0]?.message ?? '', /removed subjects: User eve, User mallory/, 'the Event names what the fresh plan judged');
});

test('stale bind: the empty bootstrap binding given a subject by someone else is not filled; the fresh plan leaves it alone', async () => {
  const r = await planThenAct({
    seed: nodeBinding([]),
    spec: { nodeAuthorization: { legacyBindingFallback: true } },
    by: 'Denied',
    between: (client) => {
      client.poke(bindingPath, (o) => {
        o.subjects = [rbac('User', 'alice')];
      });
    },
  });
  assert.equal(r.planned, ['bind']);
  assert.equal(r.writes, ['replace']);
  assert.equal(subjects(r.client), ['alice'], 'not overwritten');
  assert.equal(r.replanned, [[]]);
  assert.is(r.verdict, 'False/NodeAuthorizerDisabled');
  assert.equal(r.reasons, ['Warning/LegacyBindingHasExtraSubjects']);
});

test('stale create: a binding created by someone else after the plan saw none is not replaced (409 AlreadyExists)', async () => {
  const r = await planThenAct({
    spec: { nodeAuthorization: { legacyBindingFallback: true } },
    by: 'Denied',
    between: (client) => {
      client.seed(bindingPath, nodeBinding([rbac('Group', 'system:nodes'), rbac('User', 'alice')]));
    },
  });
  assert.equal(r.planned, ['create']);
  assert.equal(r.writes, ['create']);
  assert.equal(subjects(r.client), ['system:nodes', 'alice']);
  assert.equal(r.replanned, [[]]);
  assert.equal(r.reasons, ['Warning/LegacyBindingHasExtraSubjects']);
});

test('stale repair of a binding deleted since: the fresh plan creates it', async () => {
  const r = await planThenAct({
    seed: nodeBinding([rbac('Group', 'system:nodes'), rbac('User', 'eve')], OURS),
    spec: { nodeAuthorization: { mode: 'LegacyBinding' } },
    by: 'RBAC',
    between: (client) => {
      client.remove(bindingPath);
    },
  });
  assert.equal(r.planned, ['repair']);
  assert.equal(r.replanned, [['create']]);
  assert.equal(r.writes, ['create']);
  assert.equal(subjects(r.client), ['system:nodes']);
  assert.equal(r.reasons, ['Normal/LegacyBindingCreated']);
});

test(`a binding that keeps changing: ${MAX_REPLANS} fresh plans, then the conflict goes to the controller's retry`, async () => {
  const client = new MemoryClient();
  client.seed(bindingPath, nodeBinding());
  client.fail('delete', bindingPath, 409, MAX_REPLANS + 1);
  const { ctx, events } = memoryContext(client, new TestClock(), resolveSpec({}));
  const judged = { resourceVersion: '1', uid: 'u' };
  let replans = 0;
  const replan = (): Promise<NodeAuthPlan> => {
    replans++;
    return Promise.resolve(planOf([{ kind: 'delete', why: 'x', judged }]));
  };
  const error = await actNodeAuthorization(ctx, planOf([{ kind: 'delete', why: 'x', judged }]), replan).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isConflict(error));
  assert.is(replans, MAX_REPLANS);
  assert.is(client.callsOf('delete').length, MAX_REPLANS + 1);
  assert.ok(client.peek(bindingPath), 'still there');
  assert.equal(events, [], 'no Event claims a deletion that did not happen');
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

test('a reconcile cancelled before an action: stopped there, nothing written, no Event claims it', async () => {
  const client = new MemoryClient();
  const stored = client.seed(bindingPath, nodeBinding());
  const abort = new AbortController();
  abort.abort();
  const { ctx, events } = memoryContext(client, new TestClock(), resolveSpec({}), { signal: abort.signal });
  const judged = { resourceVersion: stored.metadata.resourceVersion ?? '', uid: String(stored.metadata.uid) };
  const outcome = await writePlan(ctx, planOf([{ kind: 'delete', why: 'the Node authorizer works', judged }]));
  assert.equal(outcome, { kind: 'stopped', action: { kind: 'delete', why: 'the Node authorizer works', judged } });
  assert.equal(client.callsOf('delete'), []);
  assert.ok(client.peek(bindingPath), 'still there');
  assert.equal(events, []);
});

test("a forbidden create fails the area with the API's own error", async () => {
  const client = new MemoryClient().fail('create', /clusterrolebindings$/, 403);
  const r = await act(client, planOf([{ kind: 'create', why: 'x' }]));
  assert.match(String(r.error), /403 Forbidden/);
  assert.equal(r.reasons, []);
});

test.run();

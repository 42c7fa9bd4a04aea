// Every path of the legacy-token act, over the in-memory API server: what it writes, in
// which order, what it refuses to touch, and which Events and conditions come out.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import * as annotations from '../../../src/api/annotations.ts';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { createActor } from '../../../src/areas/legacytokens/act.ts';
import { DEAD_TOKEN_CONCURRENCY, paceRotations } from '../../../src/areas/legacytokens/rotation/pace.ts';
import { RotationLedger } from '../../../src/areas/legacytokens/rotation/ledger.ts';
import { RotationRunEvents } from '../../../src/areas/legacytokens/rotation/events.ts';
import { templateFingerprint } from '../../../src/areas/legacytokens/caches.ts';
import { TOKEN_SECRETS_CACHE } from '../../../src/kube/token-secrets.ts';
import { tokenSecretCache } from '../../../src/areas/legacytokens/caches.ts';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';

/** The token-Secret cache as the wiring makes it (its name is what act looks Secrets up by). */
const secretCache = tokenSecretCache(new PublishedKeys());
import type { AreaContext, AreaReport } from '../../../src/areas/area.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from '../../../src/areas/legacytokens/plan.ts';
import type { RecentRestarts } from '../../../src/areas/legacytokens/restarts/record.ts';
import { isConflict, isForbidden } from '../../../src/kube/errors.ts';
import { deployment, secretPath, simulateTokensController, tokenSecret, workloadPath } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const OPERATOR_NS = 'authpolicy-system';
type Rotate = Extract<LegacyTokensAction, { kind: 'rotate' }>;

interface World {
  client: MemoryClient;
  clock: TestClock;
  ledger: RotationLedger;
  recent: RecentRestarts;
}
function world(tickMs = 0): World {
  const clock = new TestClock('2026-06-01T00:00:00Z', tickMs);
  return { client: new MemoryClient(clock.now), clock, ledger: new RotationLedger(OPERATOR_NS), recent: new Map() };
}
/** Seeds a token Secret and returns the rotate action the plan would list for it. */
function rotation(w: World, name: string, triggers: Rotate['triggers'] = ['InvalidToken']): Rotate {
  const s = w.client.seed(secretPath(name), tokenSecret(name));
  return {
    kind: 'rotate',
    secret: { namespace: 'apps', name, resourceVersion: s.metadata.resourceVersion },
    rotation: `r-${name}`,
    triggers,
    request: undefined,
    tokenHash: `h-${name}`,
    apiservers: 'ap-1',
  };
}
interface PlanOptions {
  dryRun?: boolean;
  timeoutMs?: number;
  awaiting?: { name: string; rotatedAt: string }[];
  refilled?: number;
}
/** A plan as the rules leave it, before its step is paced (act tests give the actions by hand). */
type Unpaced = Omit<LegacyTokensPlan, 'step'> & { timeoutMs: number };
function planOf(actions: LegacyTokensAction[], options: PlanOptions = {}): Unpaced {
  return {
    actions,
    dryRun: options.dryRun ?? false,
    timeoutMs: options.timeoutMs ?? 5000,
    awaitingRefill: (options.awaiting ?? []).map((a) => ({ namespace: 'apps', ...a })),
    refilledRotations: options.refilled ?? 0,
    report: {
      conditions: [
        { type: 'LegacyTokensReady', status: 'False', reason: 'Rotating', message: 'rotating' },
        { type: 'WorkloadsRestarted', status: 'False', reason: 'RestartsPending', message: 'pending' },
      ],
      findings: [],
      summary: { rotating: actions.filter((a) => a.kind === 'rotate').length },
    },
  };
}
/** The plan's step, paced as planLegacyTokens paces it, from the ledger as observe reads it through `ctx`'s Secret cache. */
function paced(w: World, ctx: AreaContext, plan: Unpaced): LegacyTokensPlan {
  const { timeoutMs, ...rest } = plan;
  const progress = w.ledger.progress(ctx.cache(secretCache));
  return { ...rest, step: paceRotations({ ...rest, now: ctx.now().getTime(), timeoutMs, progress }) };
}
/** One actor kept across reconciles, as the operator keeps it: each call paces the plan from the ledger, then acts. */
function actorOf(w: World): (ctx: AreaContext, plan: Unpaced) => Promise<AreaReport> {
  const act = createActor({ ledger: w.ledger, recent: w.recent, runEvents: new RotationRunEvents() });
  return (ctx, plan) => act(ctx, paced(w, ctx, plan));
}
async function act(w: World, plan: Unpaced) {
  const { ctx, events, logs } = memoryContext(w.client, w.clock, resolveSpec({}));
  let error: unknown;
  const { step, ...rest } = paced(w, ctx, plan);
  const report = await createActor({ ledger: w.ledger, recent: w.recent, runEvents: new RotationRunEvents() })(ctx, { ...rest, step }).catch((err: unknown) => {
    error = err;
    return undefined;
  });
  return { report, events, logs, error, gate: step.gate, reasons: events.map((e) => `${e.type}/${e.reason}`) };
}
const tokenOf = (w: World, name: string): string | undefined => (w.client.peek(secretPath(name))?.data as Record<string, string> | undefined)?.token;
const blanked = (w: World): string[] =>
  w.client
    .callsOf('mergePatch', '/secrets/')
    .filter((c) => JSON.stringify(c.body).includes('"token":null'))
    .map((c) => c.path.split('/').pop() ?? '');

const test = suite('legacyTokens act');

test('dry run: one DryRun Event for the plan, no request at all', async () => {
  const w = world();
  const r = await act(w, planOf([rotation(w, 'a-token'), rotation(w, 'b-token')], { dryRun: true }));
  assert.equal(r.reasons, ['Normal/DryRun']);
  assert.is(r.events[0]?.message, 'would rotate 2 secret(s) in place: apps/a-token (InvalidToken), apps/b-token (InvalidToken)');
  assert.is(w.client.calls.length, 0, 'nothing written, nothing read');
});

test('canary: created in the operator namespace, judged on a later reconcile, deleted; only then is a live Secret blanked', async () => {
  const w = world();
  simulateTokensController(w.client);
  const plan = planOf([rotation(w, 'a-token')]);
  const first = await act(w, plan);
  assert.match(w.client.callsOf('create')[0]?.path ?? '', /\/namespaces\/authpolicy-system\/secrets$/);
  assert.equal(blanked(w), [], 'no live Secret before the canary is judged');
  assert.is(first.report?.requeueAfterMs, 1000, 'no waiting inside the reconcile: requeued (the refill event usually comes first)');
  const second = await act(w, plan);
  assert.match(w.client.callsOf('delete')[0]?.path ?? '', /\/namespaces\/authpolicy-system\/secrets\/authpolicy-canary-/);
  assert.equal(w.client.listPath('/api/v1/namespaces/authpolicy-system/secrets'), [], 'no canary left behind');
  assert.equal(blanked(w), ['a-token']);
  const marks = w.client.peek(secretPath('a-token'))?.metadata.annotations as Record<string, string>;
  assert.is(marks[annotations.ROTATION_STATE], 'pending', 'the step is recorded on the Secret, for the next reconcile and the next process');
  assert.is(marks[annotations.ROTATED_AT], '2026-06-01T00:00:00.000Z', 'stamped by the injected clock');
  assert.equal(second.reasons, ['Normal/TokenRotated']);
  assert.ok(w.ledger.canary.verifiedAt > 0, 'the proof is in the ledger for the next reconcile');
});

test('canary not filled within tokenControllerTimeout: TokenControllerUnavailable, nothing blanked, canary deleted', async () => {
  const w = world();
  simulateTokensController(w.client, () => false);
  const plan = planOf([rotation(w, 'a-token')]);
  const waiting = await act(w, plan);
  assert.equal(waiting.reasons, []);
  w.clock.advance(4000);
  assert.equal((await act(w, plan)).reasons, [], 'still within the timeout: still waiting');
  w.clock.advance(1000);
  const r = await act(w, plan);
  assert.equal(blanked(w), []);
  assert.ok(tokenOf(w, 'a-token'), 'the live token is untouched');
  assert.equal(w.client.listPath('/api/v1/namespaces/authpolicy-system/secrets'), [], 'canary deleted');
  // The plan's gate says it (LegacyTokensReady words it: the rule tables); act records the Event it lists.
  assert.equal([r.gate.status, r.gate.reason], ['False', 'TokenControllerUnavailable']);
  assert.match(r.gate.message, /did not fill the canary Secret authpolicy-system\/authpolicy-canary-\w+ within 5s/);
  assert.equal(r.reasons, ['Warning/TokenControllerUnavailable']);
  assert.is(r.events[0]?.message, r.gate.message);
  assert.is(r.report?.requeueAfterMs, 30_000, 'a canary again in 30 s');
  w.clock.advance(31_000);
  const retry = await act(w, plan);
  assert.is(retry.gate.reason, 'TokenControllerUnavailable', 'a retried canary keeps the failure until it is filled');
  assert.equal(retry.reasons, [], 'without another Event');
  assert.is(w.client.callsOf('create').length, 2);
});

const proven = (w: World): void => {
  w.ledger.canary.verifiedAt = w.clock.now().getTime();
};

test('the first live Secret alone: while it awaits its token nothing else is blanked', async () => {
  const w = world();
  proven(w);
  const r = await act(
    w,
    planOf(
      ['b-token', 'c-token'].map((n) => rotation(w, n)),
      { awaiting: [{ name: 'a-token', rotatedAt: '2026-05-31T23:59:58Z' }] },
    ),
  );
  assert.equal(blanked(w), []);
  assert.is(r.report?.requeueAfterMs, 1000);
  assert.equal(r.reasons, []);
});

test('a live Secret not refilled within tokenControllerTimeout (timed from rotated-at, so also across restarts) stops the rest', async () => {
  const w = world();
  proven(w);
  const r = await act(
    w,
    planOf(
      ['b-token', 'c-token'].map((n) => rotation(w, n)),
      { awaiting: [{ name: 'a-token', rotatedAt: '2026-05-31T23:59:55Z' }], refilled: 3 },
    ),
  );
  assert.equal(blanked(w), [], 'nothing more touched');
  assert.is(r.gate.reason, 'TokenControllerUnavailable');
  assert.match(r.gate.message, /did not refill apps\/a-token within 5s; rotation paused/);
  assert.equal(r.reasons, ['Warning/TokenControllerUnavailable']);
  assert.is(w.ledger.canary.verifiedAt, 0, 'the next rotation proves the tokens controller again');
});

test('once one rotation came back: working tokens a few at a time (at most 4 blank at once), one TokenRotated Event, no waiting', async () => {
  const w = world();
  proven(w);
  simulateTokensController(w.client, () => false); // nothing is refilled: act must return anyway
  const names = ['a-token', 'b-token', 'c-token', 'd-token', 'e-token', 'f-token'];
  const r = await act(
    w,
    planOf(
      names.map((n) => rotation(w, n, ['MaxAge'])),
      { refilled: 1 },
    ),
  );
  assert.is(r.error, undefined);
  assert.equal(blanked(w), names.slice(0, 4));
  for (const n of names.slice(0, 4)) assert.is(tokenOf(w, n), undefined, `${n} blank, awaiting the tokens controller`);
  assert.equal(r.reasons, ['Normal/TokenRotated']);
  assert.match(r.events[0]?.message ?? '', /blanked the token of 4 secret\(s\)/);
  assert.is(r.report?.requeueAfterMs, 1000);
  const w2 = world();
  proven(w2);
  await act(
    w2,
    planOf(
      names.map((n) => rotation(w2, n, ['MaxAge'])),
      { refilled: 1, awaiting: [{ name: 'x-token', rotatedAt: '2026-05-31T23:59:59Z' }] },
    ),
  );
  assert.is(blanked(w2).length, 3, 'the Secrets still blank count against the four');
});

test(`tokens already refused (InvalidToken): up to ${DEAD_TOKEN_CONCURRENCY} blank at once, never more than 4 writes in flight; a working token waits for fewer than 4`, async () => {
  const w = world();
  proven(w);
  simulateTokensController(w.client, () => false);
  let inFlight = 0;
  let most = 0;
  const mergePatch = w.client.mergePatch.bind(w.client);
  w.client.mergePatch = async <T>(path: string, patch: unknown): Promise<T> => {
    most = Math.max(most, ++inFlight);
    try {
      return await mergePatch<T>(path, patch);
    } finally {
      inFlight--;
    }
  };
  const dead = Array.from({ length: DEAD_TOKEN_CONCURRENCY + 4 }, (_, i) => `d${String(i).padStart(2, '0')}-token`);
  const r = await act(
    w,
    planOf([rotation(w, 'live-token', ['MaxAge']), ...dead.map((n) => rotation(w, n))], {
      refilled: 1,
      awaiting: [{ name: 'x-token', rotatedAt: '2026-05-31T23:59:59Z' }],
    }),
  );
  assert.is(r.error, undefined);
  assert.equal(
    blanked(w),
    ['live-token', ...dead.slice(0, DEAD_TOKEN_CONCURRENCY - 2)],
    `the working token while fewer than 4 were blank, then refused ones up to ${DEAD_TOKEN_CONCURRENCY} blank in all`,
  );
  assert.ok(most <= 4, `at most 4 blanking writes in flight (saw ${most})`);
  assert.ok(most > 1, 'writes do go out in parallel');
  assert.equal(r.reasons, ['Normal/TokenRotated']);
  const w2 = world();
  proven(w2);
  simulateTokensController(w2.client, () => false);
  const busy = ['a', 'b', 'c', 'd'].map((n) => ({ name: `${n}-blank`, rotatedAt: '2026-05-31T23:59:59Z' }));
  await act(w2, planOf([rotation(w2, 'live-token', ['StaleCA']), rotation(w2, 'dead-token')], { refilled: 1, awaiting: busy }));
  assert.equal(blanked(w2), ['dead-token'], 'four blank already: the working token waits, the refused one goes');
});

test('a live Secret this process saw refilled is proof too: once its rotation is finished, the rest still go four at a time', async () => {
  const w = world();
  proven(w);
  simulateTokensController(w.client, () => false);
  const actor = actorOf(w); // one actor, as the operator keeps it across reconciles
  const { ctx } = memoryContext(w.client, w.clock, resolveSpec({}));
  await actor(ctx, planOf([rotation(w, 'a-token')]));
  assert.equal(blanked(w), ['a-token'], 'the first live Secret alone');
  // The next reconcile sees it refilled (no longer awaiting) and its rotation finished: no pending rotation is left as proof.
  const names = ['b-token', 'c-token', 'd-token', 'e-token', 'f-token'];
  await actor(ctx, planOf(names.map((n) => rotation(w, n, ['MaxAge']))));
  assert.equal(blanked(w), ['a-token', ...names.slice(0, 4)], 'four at once, not one at a time');
});

test('a canary left by an earlier process is deleted before a new one is made', async () => {
  const w = world();
  w.client.seed(
    secretPath('authpolicy-canary-old', 'authpolicy-system'),
    tokenSecret('authpolicy-canary-old', { namespace: 'authpolicy-system', sa: 'default', token: undefined }),
  );
  await act(w, planOf([rotation(w, 'a-token')]));
  assert.ok(w.client.callsOf('delete').some((c) => c.path.endsWith('/authpolicy-canary-old')));
  assert.is(w.client.listPath('/api/v1/namespaces/authpolicy-system/secrets').length, 1, 'only the new canary');
});

test("revive removes the cleaner's invalid-since label and says so", async () => {
  const w = world();
  w.client.seed(secretPath('old-token'), tokenSecret('old-token', { labels: { [annotations.LEGACY_TOKEN_INVALID_SINCE]: '2026-01-01' } }));
  const r = await act(w, planOf([{ kind: 'revive', secret: { namespace: 'apps', name: 'old-token', resourceVersion: undefined } }]));
  assert.equal(w.client.peek(secretPath('old-token'))?.metadata.labels, {});
  assert.equal(r.reasons, ['Normal/TokenRevived']);
  assert.is(w.client.callsOf('create').length, 0, 'no canary for a revival');
});

test('a restart is one apply: the pod-template marks, and on the workload the fingerprint of the template it changed, which still matches after it', async () => {
  const w = world();
  const seeded = deployment('web', ['a-token']);
  w.client.seed(workloadPath('Deployment', 'web'), seeded);
  const before = templateFingerprint((seeded as { spec: { template: unknown } }).spec.template);
  const r = await act(w, planOf([{ kind: 'restart', workload: { kind: 'Deployment', namespace: 'apps', name: 'web', template: before }, rotations: ['r-1'] }]));
  assert.is(r.error, undefined);
  assert.is(w.client.callsOf('apply', '/deployments/web').length, 1, 'one write per restart');
  const after = w.client.peek(workloadPath('Deployment', 'web'));
  const template = (after?.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
  assert.is(template.metadata.annotations[annotations.RESTARTED_FOR], 'r-1');
  assert.is((after?.metadata.annotations as Record<string, string>)[annotations.RESTARTED_TEMPLATE], before);
  assert.is(templateFingerprint(template), before, 'our own marks leave the fingerprint as it was: the template is still ours');
  assert.is(after?.metadata.generation, 2, 'the generation rose once');
  assert.ok(w.recent.has('Deployment/apps/web'), 'remembered until the cache shows it');
  assert.equal(r.reasons, ['Normal/WorkloadRestarted']);
});

test("templateFingerprint: a change by anyone else (another annotation, kubectl's restart mark, the image) changes it; ours do not", () => {
  const base = { metadata: { annotations: { team: 'a' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } };
  const fp = templateFingerprint(base);
  const marked = { ...base, metadata: { annotations: { ...base.metadata.annotations, [annotations.RESTARTED_AT]: 't', [annotations.RESTARTED_FOR]: 'r-1' } } };
  assert.is(templateFingerprint(marked), fp);
  assert.is.not(templateFingerprint({ ...marked, metadata: { annotations: { ...marked.metadata.annotations, [annotations.KUBECTL_RESTARTED_AT]: 't' } } }), fp);
  assert.is.not(templateFingerprint({ ...base, spec: { containers: [{ name: 'c', image: 'app:2' }] } }), fp);
});

test('restarts of one reconcile share one WorkloadRestarted Event naming each (bounded Events at scale)', async () => {
  const w = world();
  const names = ['web', 'api', 'worker', 'cron', 'batch', 'edge', 'admin'];
  for (const name of names) w.client.seed(workloadPath('Deployment', name), deployment(name, ['a-token']));
  const r = await act(
    w,
    planOf(names.map((name) => ({ kind: 'restart' as const, workload: { kind: 'Deployment' as const, namespace: 'apps', name }, rotations: ['r-1'] }))),
  );
  assert.is(r.error, undefined);
  assert.equal(r.reasons, ['Normal/WorkloadRestarted'], 'one Event for seven restarts');
  assert.match(
    r.events[0]?.message ?? '',
    /^restarted 7 workloads: deployment apps\/web \(r-1\), deployment apps\/api \(r-1\), .* and 2 more to mount rotated tokens$/,
  );
});

const finish = (w: World, name: string, notRestarted: string[] = []): Extract<LegacyTokensAction, { kind: 'finish' }> => {
  const s = w.client.peek(secretPath(name)) ?? w.client.seed(secretPath(name), tokenSecret(name, { annotations: { [annotations.ROTATION_STATE]: 'pending' } }));
  return {
    kind: 'finish',
    secret: { namespace: 'apps', name, resourceVersion: s.metadata.resourceVersion },
    rotation: `r-${name}`,
    restarted: ['deployment/apps/web'],
    notRestarted,
    restartsDisabled: false,
  };
};

test('finish marks the rotation done (guarded by resourceVersion) and tells what was and was not restarted', async () => {
  const w = world();
  const r = await act(w, planOf([finish(w, 'a-token')]));
  assert.is((w.client.peek(secretPath('a-token'))?.metadata.annotations as Record<string, string>)[annotations.ROTATION_STATE], 'done');
  assert.ok(JSON.stringify(w.client.callsOf('mergePatch')[0]?.body).includes('resourceVersion'));
  assert.equal(r.reasons, ['Normal/RotationFinished']);
  assert.match(
    r.events[0]?.message ?? '',
    /rotation r-a-token of secret apps\/a-token is complete: restarted deployment\/apps\/web; no other running pod reads it/,
  );
  const w2 = world();
  const r2 = await act(w2, planOf([finish(w2, 'a-token', ['pod apps/bare'])]));
  assert.equal(r2.reasons, ['Warning/RotationFinished'], 'a pod left holding the replaced token is a warning');
});

test('a reconcile writes its restarts before its done marks, a few at a time (a freed rollout slot is refilled first)', async () => {
  const w = world();
  const apps = ['web', 'api'];
  for (const name of apps) w.client.seed(workloadPath('Deployment', name), deployment(name, ['a-token']));
  const marks = Array.from({ length: 10 }, (_, i) => finish(w, `m${i}-token`));
  let inFlight = 0;
  let most = 0;
  const order: string[] = [];
  for (const verb of ['mergePatch', 'apply'] as const) {
    const original = w.client[verb].bind(w.client) as (...args: unknown[]) => Promise<unknown>;
    (w.client as unknown as Record<string, unknown>)[verb] = async (path: string, ...rest: unknown[]): Promise<unknown> => {
      order.push(path.includes('/deployments/') ? 'restart' : 'done');
      most = Math.max(most, ++inFlight);
      try {
        return await original(path, ...rest);
      } finally {
        inFlight--;
      }
    };
  }
  const r = await act(
    w,
    planOf([
      ...marks,
      ...apps.map((name) => ({ kind: 'restart' as const, workload: { kind: 'Deployment' as const, namespace: 'apps', name }, rotations: ['r-1'] })),
    ]),
  );
  assert.is(r.error, undefined);
  assert.equal(order.slice(0, 2), ['restart', 'restart'], `the restarts went first: ${order.join(', ')}`);
  assert.is(order.length, 12);
  assert.ok(most > 1 && most <= 4, `writes in parallel, at most 4 in flight (saw ${most})`);
  assert.equal(r.reasons, ['Normal/WorkloadRestarted', 'Normal/RotationFinished']);
});

test('a conflict on finish is retried on fresh state: debug log, no Warning Event, then done', async () => {
  const w = world();
  const stale = finish(w, 'a-token');
  w.client.poke(secretPath('a-token'), () => undefined); // the tokens controller wrote the Secret since the plan read it
  const first = await act(w, planOf([stale]));
  assert.ok(isConflict(first.error), 'the conflict reaches the controller, which retries at once');
  assert.equal(first.reasons, [], 'no Warning Event for a conflict');
  assert.ok(first.logs.some((l) => l.level === 'debug' && l.message === 'action conflicted; retrying on fresh state'));
  assert.not.ok(first.logs.some((l) => l.level === 'warn'));
  const retried = await act(w, planOf([finish(w, 'a-token')]));
  assert.is(retried.error, undefined);
  assert.is((w.client.peek(secretPath('a-token'))?.metadata.annotations as Record<string, string>)[annotations.ROTATION_STATE], 'done');
  assert.equal(retried.reasons, ['Normal/RotationFinished']);
});

test('a failing restart does not starve the others: Warning ActionFailed, the rest done, the error returned', async () => {
  const w = world();
  for (const name of ['a', 'b']) w.client.seed(workloadPath('Deployment', name), deployment(name, ['a-token']));
  w.client.fail('apply', workloadPath('Deployment', 'a'), 403);
  const restart = (name: string): LegacyTokensAction => ({ kind: 'restart', workload: { kind: 'Deployment', namespace: 'apps', name }, rotations: ['r-1'] });
  const r = await act(w, planOf([restart('a'), restart('b'), finish(w, 'a-token')]));
  assert.ok(isForbidden(r.error));
  assert.equal(r.reasons, ['Warning/ActionFailed', 'Normal/WorkloadRestarted', 'Normal/RotationFinished']);
  assert.match(r.events[0]?.message ?? '', /could not restart deployment apps\/a: .*403 Forbidden/);
  assert.ok(w.recent.has('Deployment/apps/b') && !w.recent.has('Deployment/apps/a'));
});

test('a not-found restart (workload deleted meanwhile) is one failure too', async () => {
  const w = world();
  w.client.seed(workloadPath('Deployment', 'b'), deployment('b', ['a-token']));
  w.client.fail('apply', workloadPath('Deployment', 'gone'), 404);
  const restart = (name: string): LegacyTokensAction => ({ kind: 'restart', workload: { kind: 'Deployment', namespace: 'apps', name }, rotations: ['r-1'] });
  const r = await act(w, planOf([restart('gone'), restart('b')]));
  assert.equal(r.reasons, ['Warning/ActionFailed', 'Normal/WorkloadRestarted']);
});

test('a rotation run tells its story in three Events, however many Secrets and workloads it covers', async () => {
  const w = world();
  proven(w);
  simulateTokensController(w.client, () => false);
  const actor = actorOf(w); // one actor, as the operator keeps it across reconciles
  const { ctx, events } = memoryContext(w.client, w.clock, resolveSpec({}));
  const names = Array.from({ length: 12 }, (_, i) => `s${i}-token`);
  // Round after round: a few blanked each time, the earlier ones refilled and finished, workloads restarted.
  await actor(
    ctx,
    planOf(
      names.slice(0, 12).map((n) => rotation(w, n, ['MaxAge'])),
      { refilled: 1 },
    ),
  );
  const web = (i: number) => ({ kind: 'restart' as const, workload: { kind: 'Deployment' as const, namespace: 'apps', name: `web-${i}` }, rotations: ['r-1'] });
  for (const i of [0, 1, 2]) w.client.seed(workloadPath('Deployment', `web-${i}`), deployment(`web-${i}`, ['s0-token']));
  await actor(ctx, planOf([...names.slice(4).map((n) => rotation(w, n, ['MaxAge'])), web(0), finish(w, 's0-token')], { refilled: 2 }));
  await actor(ctx, planOf([...names.slice(8).map((n) => rotation(w, n, ['MaxAge'])), web(1), web(2), finish(w, 's1-token')], { refilled: 2 }));
  assert.equal(
    events.map((e) => e.reason),
    ['TokenRotated', 'WorkloadRestarted'],
    'while Secrets are in flight: the first blank and the first restart only',
  );
  assert.match(events[0]?.message ?? '', /blanked the token of 4 secret\(s\).*; 8 more to follow a few at a time/);
  // The last round: nothing left to blank or await, the last rotations finished.
  await actor(ctx, planOf([finish(w, 's2-token'), finish(w, 's3-token', ['apps/batch-1'])], { refilled: 2 }));
  assert.equal(
    events.map((e) => `${e.type}/${e.reason}`),
    ['Normal/TokenRotated', 'Normal/WorkloadRestarted', 'Warning/RotationFinished'],
  );
  assert.match(
    events[2]?.message ?? '',
    /^4 rotations are complete, 3 workload restart\(s\): rotation r-s3-token of secret apps\/s3-token is complete: .*NOT restarted, still holding the replaced token: apps\/batch-1/,
  );
});

/** A context whose Secret cache is frozen as it is now: it lags every write that follows, as an informer briefly does. */
function lagging(w: World, ctx: AreaContext): AreaContext {
  const frozen = w.client.cache(secretCache).list();
  const view = {
    get: (name: string, namespace?: string) => frozen.find((x) => x.metadata.name === name && x.metadata.namespace === namespace),
    list: (namespace?: string) => frozen.filter((x) => namespace === undefined || x.metadata.namespace === namespace),
  } as unknown as ReturnType<AreaContext['cache']>;
  return { ...ctx, cache: ((handle) => (handle.name === TOKEN_SECRETS_CACHE ? view : ctx.cache(handle))) as AreaContext['cache'] };
}

test("a plan from a cache that has not seen the operator's own blank: not blanked again, not taken for refilled, and still counted blank", async () => {
  const w = world();
  proven(w);
  simulateTokensController(w.client, () => false);
  const actor = actorOf(w);
  const { ctx } = memoryContext(w.client, w.clock, resolveSpec({}));
  const names = Array.from({ length: DEAD_TOKEN_CONCURRENCY }, (_, i) => `s${String(i).padStart(2, '0')}-token`);
  const plan = planOf(
    names.map((n) => rotation(w, n)),
    { refilled: 1 },
  );
  const stale = lagging(w, ctx); // frozen before the blanks
  await actor(ctx, plan);
  assert.is(blanked(w).length, DEAD_TOKEN_CONCURRENCY);
  const patches = w.client.callsOf('mergePatch').length;
  const r = await actor(stale, plan); // the same plan again, from the lagging cache
  assert.is(w.client.callsOf('mergePatch').length, patches, 'no write repeated (each would be a 409 and a failed reconcile)');
  assert.is(r.requeueAfterMs, 1000, 'the blanks are awaited');
  assert.is(w.ledger.canary.liveRefilledAt, undefined, 'a blank the cache has not shown is no refill');
  const more = rotation(w, 'late-token');
  await actor(stale, planOf([...plan.actions, more], { refilled: 1 }));
  assert.not.ok(blanked(w).includes('late-token'), `the unseen blanks still count: ${DEAD_TOKEN_CONCURRENCY} blank already`);
});

test("a plan made before the done mark's event arrived is not marked again when the cache has caught up since (no 409)", async () => {
  const w = world();
  const actor = actorOf(w);
  const { ctx } = memoryContext(w.client, w.clock, resolveSpec({}));
  const planned = finish(w, 'a-token');
  await actor(ctx, planOf([planned]));
  assert.is(w.client.callsOf('mergePatch', '/secrets/a-token').length, 1);
  // The next plan was made from the version before the mark; by the time it acts, the cache shows the mark.
  const r = await actor(ctx, planOf([planned]));
  assert.is(w.client.callsOf('mergePatch', '/secrets/a-token').length, 1, 'not marked twice');
  assert.equal(r.conditions, planOf([planned]).report.conditions, "and the reconcile succeeds: the plan's conditions, no failure");
});

test('a done mark the cache has not shown yet is not written again', async () => {
  const w = world();
  const actor = actorOf(w);
  const { ctx } = memoryContext(w.client, w.clock, resolveSpec({}));
  const action = finish(w, 'a-token');
  const stale = lagging(w, ctx);
  await actor(ctx, planOf([action]));
  const marks = w.client.callsOf('mergePatch', '/secrets/a-token').length;
  assert.is(marks, 1);
  const r = await actor(stale, planOf([action]));
  assert.is(w.client.callsOf('mergePatch', '/secrets/a-token').length, marks, 'not marked twice');
  assert.equal(r.conditions, planOf([action]).report.conditions, "and the reconcile succeeds: the plan's conditions, no failure");
  await actor(ctx, planOf([finish(w, 'a-token')]));
  assert.is(w.client.callsOf('mergePatch', '/secrets/a-token').length, marks + 1, 'a plan from a cache that shows the mark is written as planned');
});

test('a rotation run whose Secret was deleted or re-created mid-rotation still ends with exactly one RotationFinished naming it', async () => {
  const { RotationRunEvents } = await import('../../../src/areas/legacytokens/rotation/events.ts');
  const w = world();
  const { ctx, events } = memoryContext(w.client, w.clock, resolveSpec({}));
  const run = new RotationRunEvents();
  await run.blanked(ctx, ['apps/a-token', 'apps/b-token'], ['apps/a-token (Requested)', 'apps/b-token (Requested)'], 2);
  const finishA: Extract<LegacyTokensAction, { kind: 'finish' }> = {
    kind: 'finish',
    secret: { namespace: 'apps', name: 'a-token', resourceVersion: '5' },
    rotation: 'r-a',
    restarted: ['deployment/apps/web'],
    notRestarted: [],
    restartsDisabled: false,
  };
  // b-token's restarts are under way: the run goes on.
  await run.finished(ctx, planOf([], { refilled: 2 }), [finishA]);
  assert.equal(
    events.map((e) => e.reason),
    ['TokenRotated'],
  );
  // b-token was deleted and created again: nothing is in flight any more, and the run ends once.
  await run.finished(ctx, planOf([]), []);
  await run.finished(ctx, planOf([]), []);
  assert.equal(
    events.map((e) => `${e.type}/${e.reason}`),
    ['Normal/TokenRotated', 'Warning/RotationFinished'],
  );
  assert.match(events[1]?.message ?? '', /rotation r-a of secret apps\/a-token is complete: restarted deployment\/apps\/web/);
  assert.match(events[1]?.message ?? '', /1 rotation\(s\) ended when their Secret was deleted or re-created mid-rotation.*: apps\/b-token/);
  // The next run starts afresh: its first blank is an Event of its own.
  await run.blanked(ctx, ['apps/a-token'], ['apps/a-token (InvalidToken)'], 1);
  assert.is(events.filter((e) => e.reason === 'TokenRotated').length, 2);
});

test.run();

// The legacy-token decision's named rules, one table each: triggers, the Secret rules (first
// claim decides), restart pacing, and the two condition chains (first match gives the reason).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { LegacyTokensSpec } from '../../../src/api/types.ts';
import type { TokenSecret, Workload } from '../../../src/areas/legacytokens/caches.ts';
import type { LegacyTokensObservation, SecretFinding, TokenConsumer } from '../../../src/areas/legacytokens/observe.ts';
import { LEGACY_TOKENS_READY, WORKLOADS_RESTARTED, type PlanFacts } from '../../../src/areas/legacytokens/conditions.ts';
import { dependentsIn } from '../../../src/areas/legacytokens/restarts/dependents.ts';
import { isUrgent, planRestarts } from '../../../src/areas/legacytokens/restarts/plan.ts';
import { decidingRule, SECRET_RULES, triageSecrets } from '../../../src/areas/legacytokens/rotation/secrets.ts';
import { CLEANUP_PERIOD_MS, nextTimeFlip, triggersFor } from '../../../src/areas/legacytokens/rotation/triggers.ts';
import { factsOf, planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import { JudgedSecrets } from '../../../src/areas/legacytokens/judged.ts';
import { cachedTokenSecret } from '../../support/builders.ts';
import { checkRuleTable } from '../../support/rule-table.ts';
import type { Rule } from '../../../src/api/rules.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const REQ = '2026-01-01T00:00:00Z';
const secret = cachedTokenSecret;
const VERDICT = {
  valid: { validity: 'valid', reason: 'Valid', detail: 'valid', source: 'offline' },
  invalid: { validity: 'invalid', reason: 'KeyNotPublished', detail: 'signed by a key no longer published', source: 'offline' },
  undecided: { validity: 'undecided', reason: 'Undecided', detail: 'keys changed', source: 'offline' },
} as const satisfies Record<string, SecretFinding['verdict']>;
function finding(over: Partial<TokenSecret> = {}, validity: keyof typeof VERDICT = 'invalid', extra: Partial<SecretFinding> = {}): SecretFinding {
  return { secret: secret('a', over), serviceAccount: 'ok', verdict: VERDICT[validity], staleCA: false, terminating: undefined, ...extra };
}
function workload(name: string, secrets: string[], over: Partial<Workload> = {}): Workload {
  return {
    kind: 'Deployment',
    metadata: { name, namespace: 'apps', generation: 1 },
    secrets,
    restartedAt: undefined,
    restartedFor: [],
    templateIsOurs: undefined,
    rolloutComplete: true,
    ...over,
  };
}
const observation = (secrets: SecretFinding[], workloads: Workload[] = [], over: Partial<LegacyTokensObservation> = {}): LegacyTokensObservation => ({
  secrets,
  workloads,
  consumers: [],
  keySource: { kind: 'published', keys: 1 },
  externalSigning: undefined,
  apiservers: 'ap-1',
  now: NOW,
  ...over,
});

const test = suite('legacyTokens rules');

test('triggers: each rule fires alone, in rule order', () => {
  const spec = (legacy: LegacyTokensSpec) => resolveSpec({ legacyTokens: legacy }).legacyTokens;
  const rows: [string, LegacyTokensSpec, SecretFinding, string[]][] = [
    ['invalid token', {}, finding(), ['InvalidToken']],
    ['invalid, but rotateOn leaves it out', { rotateOn: ['StaleCA'] }, finding(), []],
    ['re-issued the same and still rejected under the same API servers', {}, finding({ rotatedFrom: 'h-a', rotatedUnder: 'ap-1' }), []],
    ['re-issued the same, API servers restarted since', {}, finding({ rotatedFrom: 'h-a', rotatedUnder: 'ap-0' }), ['InvalidToken']],
    ['pending rotation whose new token the same API servers reject', {}, finding({ rotationState: 'pending', rotatedUnder: 'ap-1' }), []],
    ['stale CA', {}, finding({}, 'valid', { staleCA: true }), ['StaleCA']],
    ['older than maxAge', { rotateOn: ['MaxAge'], maxAge: '1h' }, finding({}, 'valid'), ['MaxAge']],
    ['younger than maxAge (timed from its last rotation)', { rotateOn: ['MaxAge'], maxAge: '1h' }, finding({ rotatedAt: '2026-05-31T23:30:00Z' }, 'valid'), []],
    ['requested, not yet done', { rotateOn: [], rotationRequestedAt: REQ }, finding({}, 'valid'), ['Requested']],
    ['requested and done', { rotationRequestedAt: REQ }, finding({ rotatedForRequest: REQ }, 'valid'), []],
    ['several at once', { rotationRequestedAt: REQ }, finding({}, 'invalid', { staleCA: true }), ['InvalidToken', 'StaleCA', 'Requested']],
  ];
  for (const [name, legacy, f, want] of rows) assert.equal(triggersFor(f, { spec: spec(legacy), now: NOW, apiservers: 'ap-1' }), want, name);
  // The request as first seen: a Secret object created since holds a token issued since (or its byte-for-byte copy).
  const seen: [string, string, string[]][] = [
    ['created before the request was seen', '2026-05-31T23:59:59Z', ['Requested']],
    ['created (re-created) after the request was seen', '2026-06-01T00:00:00Z', []],
  ];
  for (const [name, created, want] of seen) {
    const f = finding({ metadata: { ...secret('a').metadata, creationTimestamp: created } }, 'valid');
    assert.equal(triggersFor(f, { spec: spec({ rotationRequestedAt: REQ }), now: NOW, apiservers: 'ap-1', requestSeenAtMs: NOW }), want, name);
  }
});

test('a Secret re-created under its name after a requested rotation: not rotated again, and the request is recorded done', () => {
  const spec = resolveSpec({ legacyTokens: { rotationRequestedAt: REQ } });
  const recreated = finding({ metadata: { ...secret('a').metadata, uid: 'uid-a2', creationTimestamp: '2026-06-01T00:05:00Z' } }, 'valid');
  const first = planLegacyTokens(spec, observation([finding({}, 'valid')], [workload('web', ['a'])], { now: NOW - 60_000 }), undefined);
  assert.equal(
    first.actions.map((a) => a.kind),
    ['rotate'],
    'the original object is rotated',
  );
  const memory = { rotationRequest: first.report.summary.rotationRequest as { requestedAt: string; firstSeenAt: string } };
  assert.equal(memory.rotationRequest, { requestedAt: REQ, firstSeenAt: new Date(NOW - 60_000).toISOString() });
  const again = planLegacyTokens(spec, observation([recreated], [workload('web', ['a'])], { now: NOW + 600_000 }), memory);
  assert.equal(again.actions, [], 'no second rotation, no second restart');
  assert.is(again.report.summary.lastRotationRequest, REQ);
  assert.equal(again.report.summary.rotationRequest, memory.rotationRequest, 'first seen stays while the request stands');
  const changed = planLegacyTokens(
    resolveSpec({ legacyTokens: { rotationRequestedAt: '2026-07-01T00:00:00Z' } }),
    observation([recreated], [], { now: NOW + 600_000 }),
    memory,
  );
  assert.equal(
    changed.actions.map((a) => a.kind),
    ['rotate'],
    'a new request rotates it',
  );
});

test('secret rules: the first that claims a Secret decides', () => {
  const rows: [string, SecretFinding, string, Partial<LegacyTokensObservation>?][] = [
    [
      'being deleted beats everything',
      finding({ invalidSince: '2026-01-01' }, 'invalid', { terminating: 'Secret', serviceAccount: 'missing' }),
      'being deleted',
    ],
    ['cleaner-invalidated beats orphaned', finding({ invalidSince: '2026-01-01' }, 'invalid', { serviceAccount: 'missing' }), 'invalidated by the cleaner'],
    ['orphaned', finding({}, 'invalid', { serviceAccount: 'uidMismatch' }), 'orphaned'],
    [
      'unused for over a year',
      finding({ metadata: { ...secret('a').metadata, creationTimestamp: '2024-01-01T00:00:00Z' } }),
      'unused beyond the cleanup period',
    ],
    ['blank: awaiting its token', finding({ tokenHash: undefined }), 'awaiting its token'],
    ['undecided', finding({}, 'undecided'), 'undecided'],
    ['re-issued, still rejected', finding({ rotatedFrom: 'h-a', rotatedUnder: 'ap-1' }), 're-issued and still rejected'],
    ['dead token: rotate', finding(), 'rotate'],
    ['external signing still claims it as rotate (then reports it)', finding(), 'rotate', { externalSigning: 'unix:///signer.sock' }],
    ['valid', finding({}, 'valid'), 'valid'],
    ['stale CA, rotateOn without StaleCA', finding({}, 'valid', { staleCA: true }), 'needs a trigger rotateOn leaves out'],
  ];
  for (const [name, f, want, obs] of rows) {
    const spec = resolveSpec(name.startsWith('stale CA') ? { legacyTokens: { rotateOn: ['InvalidToken'] } } : {});
    const c = { spec, observation: observation([f], [], obs) };
    assert.is(decidingRule(f, c), want, name);
    speaksFirst(SECRET_RULES, want, { what: name, facts: { f, c } });
  }
});

test('secret rules: what each decision records', () => {
  const t = triageSecrets(
    resolveSpec({}),
    observation([
      finding({ tokenHash: undefined, rotationState: 'pending' }),
      { ...finding(), secret: secret('b') },
      { ...finding({}, 'valid'), secret: secret('c') },
    ]),
  );
  assert.equal(t.rotatingNow, ['apps/a', 'apps/b'], 'a blank pending Secret and a new rotation are both rotating');
  assert.equal(
    t.actions.map((a) => (a.kind === 'rotate' ? `rotate:${a.secret.name}` : a.kind)),
    ['rotate:b'],
  );
  assert.equal([t.counts.awaitingToken, t.counts.valid], [1, 1]);
  const external = triageSecrets(resolveSpec({}), observation([finding()], [], { externalSigning: 'sock' }));
  assert.equal([external.actions.length, external.notReissuable, external.counts.invalid], [0, ['apps/a (InvalidToken)'], 1]);
  const dry = triageSecrets(resolveSpec({ dryRun: true }), observation([finding()]));
  assert.equal([dry.actions.length, dry.rotatingNow.length], [1, 0], 'dry run lists the rotation, rotates nothing');
});

test('the next instant a time-judged rule may flip: unused beyond the cleanup period, older than maxAge', () => {
  const DAY = 24 * 3600_000;
  const maxAge = (d: number) => ({ maxAgeMs: d * DAY });
  const created = (iso: string, over: Partial<TokenSecret> = {}) => secret('a', { ...over, metadata: { ...secret('a').metadata, creationTimestamp: iso } });
  const rows: [string, TokenSecret, { maxAgeMs: number | undefined }, number][] = [
    ['no maxAge, created now, never used: unused a period later', created('2026-06-01T00:00:00Z'), { maxAgeMs: undefined }, NOW + CLEANUP_PERIOD_MS + 1],
    [
      'used yesterday: a period after the day after its last use',
      created('2025-01-01T00:00:00Z', { lastUsed: '2026-05-31' }),
      { maxAgeMs: undefined },
      Date.parse('2026-05-31T00:00:00Z') + DAY + CLEANUP_PERIOD_MS + 1,
    ],
    ['older than maxAge first', created('2026-05-01T00:00:00Z'), maxAge(40), Date.parse('2026-05-01T00:00:00Z') + 40 * DAY + 1],
    [
      'rotated since: maxAge counts from the rotation',
      created('2026-01-01T00:00:00Z', { rotatedAt: '2026-05-30T00:00:00Z', lastUsed: '2026-05-31' }),
      maxAge(10),
      Date.parse('2026-05-30T00:00:00Z') + 10 * DAY + 1,
    ],
    ['already unused and older than maxAge: nothing left to flip', created('2024-01-01T00:00:00Z'), maxAge(1), Infinity],
    ['an unreadable last-used date: never unused', created('2026-01-01T00:00:00Z', { lastUsed: 'soon' }), { maxAgeMs: undefined }, Infinity],
  ];
  for (const [name, s, spec, want] of rows) assert.is(nextTimeFlip(s, spec, NOW), want, name);
});

test('a verdict kept across triages holds until its time flips, or what it was judged with changes', () => {
  const DAY = 24 * 3600_000;
  const f = finding({ metadata: { ...secret('a').metadata, creationTimestamp: '2026-05-01T00:00:00Z' } }, 'valid');
  const spec = resolveSpec({ legacyTokens: { rotateOn: ['InvalidToken', 'MaxAge'], maxAge: '960h' } });
  const judged = new JudgedSecrets();
  const at = (now: number, s = spec, over: Partial<LegacyTokensObservation> = {}) => triageSecrets(s, observation([f], [], { now, judged, ...over }));
  const flip = Date.parse('2026-05-01T00:00:00Z') + 40 * DAY;
  assert.is(at(NOW).counts.valid, 1, 'valid now');
  assert.is(at(flip).counts.valid, 1, 'still valid at maxAge');
  assert.equal(
    at(flip + 1).actions.map((a) => a.kind),
    ['rotate'],
    'older than maxAge a millisecond later: rotated, not the kept verdict',
  );
  assert.is(at(NOW).counts.valid, 1, 'the clock set back: judged again, valid');
  assert.is(
    at(NOW, resolveSpec({ legacyTokens: { rotateOn: ['InvalidToken', 'MaxAge'], maxAge: '24h' } })).actions.length,
    1,
    'a shorter maxAge: judged again',
  );
  assert.is(at(NOW, spec, { externalSigning: 'sock' }).actions.length, 0, 'external signing: judged again');
  const dead = { ...f, verdict: VERDICT.invalid };
  assert.equal(
    triageSecrets(spec, observation([dead], [], { now: NOW, judged })).actions.map((a) => a.kind),
    ['rotate'],
    'a new finding for the Secret (its token judged dead): judged again',
  );
});

test('restart pacing: blocked until refilled, one slot per maxConcurrentRestarts, windows held unless urgent', () => {
  const pending = (name: string, over: Partial<TokenSecret> = {}): SecretFinding => ({
    ...finding({ rotation: `r-${name}`, rotationState: 'pending', ...over }, 'valid'),
    secret: secret(name, { rotation: `r-${name}`, rotationState: 'pending', ...over }),
  });
  const run = (legacy: LegacyTokensSpec, secrets: SecretFinding[], workloads: Workload[], rotatingNow: string[] = []) => {
    const obs = observation(secrets, workloads);
    return planRestarts(resolveSpec({ legacyTokens: legacy }).legacyTokens, obs, dependentsIn(obs), rotatingNow, []);
  };
  const kinds = (p: ReturnType<typeof run>): string[] =>
    p.actions.map((a) => (a.kind === 'restart' ? `restart:${a.workload.name}` : `${a.kind}:${a.secret.name}`));
  const rows: [string, ReturnType<typeof run>, string[]][] = [
    ['refilled: its dependent restarts', run({}, [pending('a')], [workload('web', ['a'])]), ['restart:web']],
    ['still blank: the dependent waits', run({}, [pending('a', { tokenHash: undefined })], [workload('web', ['a'])]), []],
    ['a second Secret it uses is still rotating: it waits for both', run({}, [pending('a')], [workload('web', ['a', 'b'])], ['apps/b']), []],
    [
      'maxConcurrentRestarts 1: one at a time, by name',
      run({ maxConcurrentRestarts: 1 }, [pending('a')], [workload('web', ['a']), workload('api', ['a'])]),
      ['restart:api'],
    ],
    [
      'a rollout in flight takes the slot',
      run(
        { maxConcurrentRestarts: 1 },
        [pending('a')],
        [workload('web', ['a'], { restartedAt: '2026-05-31T23:59:00Z', restartedFor: ['r-a'], rolloutComplete: false }), workload('api', ['a'])],
      ),
      [],
    ],
    ['opted out: never restarted; the rotation finishes without it', run({}, [pending('a')], [workload('web', ['a'], { optOut: 'x' })]), ['finish:a']],
    ['restarted and rolled out: finished', run({}, [pending('a')], [workload('web', ['a'], { restartedFor: ['r-a'] })]), ['finish:a']],
    ['restarts disabled: finished once refilled', run({ restartWorkloads: false }, [pending('a')], [workload('web', ['a'])]), ['finish:a']],
    [
      'outside the restart window: held',
      run({ restartWindows: [{ days: ['Sat'], start: '01:00', end: '02:00' }] }, [pending('a')], [workload('web', ['a'])]),
      [],
    ],
    [
      'outside the window but requested: at once',
      run(
        { restartWindows: [{ days: ['Sat'], start: '01:00', end: '02:00' }], rotationRequestedAt: REQ },
        [pending('a', { rotatedForRequest: REQ })],
        [workload('web', ['a'])],
      ),
      ['restart:web'],
    ],
  ];
  for (const [name, p, want] of rows) assert.equal(kinds(p), want, name);
  const held = run({ restartWindows: [{ days: ['Sat'], start: '01:00', end: '02:00' }] }, [pending('a')], [workload('web', ['a'])]);
  assert.equal(held.heldByWindow, ['deployment/apps/web']);
  assert.ok(held.nextOpensAt);
  assert.ok(isUrgent(resolveSpec({ legacyTokens: { restartNow: '2026-05-31T12:00:00Z' } }).legacyTokens, secret('a', { rotatedAt: '2026-05-31T11:00:00Z' })));
  assert.not.ok(
    isUrgent(resolveSpec({ legacyTokens: { restartNow: '2026-05-31T12:00:00Z' } }).legacyTokens, secret('a', { rotatedAt: '2026-05-31T13:00:00Z' })),
  );
});

/** The facts of a plan: the rule tables below check which rule matches them. */
function facts(
  secrets: SecretFinding[],
  workloads: Workload[] = [],
  options: { spec?: Parameters<typeof resolveSpec>[0]; previous?: PlanFacts['previous']; obs?: Partial<LegacyTokensObservation> } = {},
): { plan: ReturnType<typeof planLegacyTokens>; facts: PlanFacts } {
  const obs = observation(secrets, workloads, options.obs);
  return {
    plan: planLegacyTokens(resolveSpec(options.spec ?? {}), obs, options.previous),
    facts: planFacts({ spec: options.spec, previous: options.previous, obs }),
  };
}
const reasonOf = (p: { plan: ReturnType<typeof planLegacyTokens> }, type: string): string =>
  `${p.plan.report.conditions.find((c) => c.type === type)?.status ?? ''}/${p.plan.report.conditions.find((c) => c.type === type)?.reason ?? ''}`;

/** The rule table of a first-match list: `want` speaks for these facts (with this status/reason), every rule above it is silent. */
function speaksFirst<Facts, Action>(
  rules: readonly Rule<Facts, Action>[],
  want: string,
  row: { what: string; facts: Facts; status?: string; reason?: string },
): void {
  const at = rules.findIndex((r) => r.name === want);
  assert.ok(at >= 0, `no rule named ${want}`);
  for (const rule of rules.slice(0, at)) checkRuleTable(rule, [{ what: `${row.what} (above ${want})`, facts: row.facts, applies: false }]);
  const rule = rules[at];
  if (rule) checkRuleTable(rule, [{ ...row, applies: true }]);
}
/** The facts the condition rules are asked, for a plan's inputs. */
const planFacts = (p: { spec?: Parameters<typeof resolveSpec>[0]; previous?: PlanFacts['previous']; obs: LegacyTokensObservation }): PlanFacts =>
  factsOf(resolveSpec(p.spec ?? {}), p.obs, p.previous, undefined);

test('LegacyTokensReady: the first matching rule, top to bottom', () => {
  const rows: [string, ReturnType<typeof facts>, string, string][] = [
    [
      'tokens controller failed last time and rotations remain',
      facts([finding()], [], { previous: { tokenControllerUnavailable: 'did not refill' } }),
      'False/TokenControllerUnavailable',
      'tokens controller unavailable',
    ],
    [
      'tokens controller failed, nothing left to rotate',
      facts([finding({}, 'valid')], [], { previous: { tokenControllerUnavailable: 'did not refill' } }),
      'True/TokensValid',
      'valid',
    ],
    ['external signing', facts([finding()], [], { obs: { externalSigning: 'sock' } }), 'False/LegacyTokensNotReissuable', 'not re-issuable (external signing)'],
    ['dry run', facts([finding()], [], { spec: { dryRun: true } }), 'False/TokensInvalid', 'dry run would rotate'],
    ['rotating', facts([finding()]), 'False/Rotating', 'rotating'],
    ['needs attention (orphan)', facts([finding({}, 'invalid', { serviceAccount: 'missing' })]), 'False/TokensInvalid', 'needs attention'],
    [
      'a deleted Secret still in use',
      facts([finding({}, 'valid')], [], {
        obs: {
          deletedInUse: [
            { secret: 'apps/gone', deletedAt: '2026-06-01T00:00:00Z', invalidSince: '2025-05-01', lastUsed: undefined, users: ['deployment/apps/web'] },
          ],
        },
      }),
      'False/DeletedSecretReferenced',
      'deleted while in use',
    ],
    ['undecided', facts([finding({}, 'undecided')]), 'Unknown/ObserveFailed', 'undecided'],
    ["the cleaner's", facts([finding({ invalidSince: '2026-01-01' })]), 'True/CleanerOwned', "retiring (the cleaner's)"],
    ['no Secrets', facts([]), 'True/NoLegacyTokens', 'no legacy tokens'],
    ['all valid', facts([finding({}, 'valid')]), 'True/TokensValid', 'valid'],
  ];
  for (const [name, f, want, rule] of rows) {
    assert.is(reasonOf(f, 'LegacyTokensReady'), want, name);
    const [status, reason] = want.split('/');
    speaksFirst(LEGACY_TOKENS_READY, rule, { what: name, facts: f.facts, ...(status ? { status } : {}), ...(reason ? { reason } : {}) });
  }
  assert.equal(
    LEGACY_TOKENS_READY.map((r) => r.name),
    [
      'tokens controller unavailable',
      'not re-issuable (external signing)',
      'dry run would rotate',
      'rotating',
      'needs attention',
      'deleted while in use',
      'undecided',
      "retiring (the cleaner's)",
      'no legacy tokens',
      'valid',
    ],
  );
});

test('WorkloadsRestarted: the first matching rule, top to bottom', () => {
  const refilled = finding({ rotation: 'r-a', rotationState: 'pending', rotatedAt: '2026-05-31T00:00:00Z', rotatedFrom: 'old' }, 'valid');
  const consumer: TokenConsumer = {
    pod: 'bare',
    namespace: 'apps',
    secret: 'a',
    how: ['volume'],
    createdAt: '2026-05-01T00:00:00Z',
    owner: 'none (bare Pod)',
    restartable: undefined,
    cronJob: undefined,
  };
  const rows: [string, ReturnType<typeof facts>, string, string][] = [
    [
      'restarts disabled, nobody holds a dead token',
      facts([finding({}, 'valid')], [], { spec: { legacyTokens: { restartWorkloads: false } } }),
      'True/RestartsDisabled',
      'restarts disabled',
    ],
    [
      'restarts disabled, a pod holds a dead token',
      facts([refilled], [], { spec: { legacyTokens: { restartWorkloads: false } }, obs: { consumers: [consumer] } }),
      'False/RestartsDisabled',
      'restarts disabled',
    ],
    ['dry run', facts([finding()], [workload('web', ['a'])], { spec: { dryRun: true } }), 'False/RestartsPending', 'dry run would restart'],
    [
      'rollout timed out',
      facts([refilled], [workload('web', ['a'], { restartedAt: '2026-05-31T00:00:00Z', restartedFor: ['r-a'], rolloutComplete: false })]),
      'False/RolloutTimedOut',
      'rollout timed out',
    ],
    ['restart pending', facts([refilled], [workload('web', ['a'])]), 'False/RestartsPending', 'restarts pending'],
    ['opted out: restart by hand', facts([refilled], [workload('web', ['a'], { optOut: 'x' })]), 'False/ManualRestartRequired', 'manual restart required'],
    ['a bare pod holds the dead token', facts([refilled], [], { obs: { consumers: [consumer] } }), 'False/ConsumersNotRestarted', 'consumers not restarted'],
    ['a token unjudged: no claim about its users', facts([finding({}, 'undecided')], [workload('web', ['a'])]), 'Unknown/TokensUnjudged', 'tokens unjudged'],
    [
      'restarts disabled, a token unjudged',
      facts([finding({}, 'undecided')], [workload('web', ['a'])], { spec: { legacyTokens: { restartWorkloads: false } } }),
      'Unknown/TokensUnjudged',
      'tokens unjudged',
    ],
    ['all restarted', facts([finding({}, 'valid')], [workload('web', ['a'], { restartedAt: '2026-05-31T00:00:00Z' })]), 'True/AllRestarted', 'all restarted'],
    ['nothing to restart', facts([finding({}, 'valid')]), 'True/NothingToRestart', 'nothing to restart'],
  ];
  for (const [name, f, want, rule] of rows) {
    assert.is(reasonOf(f, 'WorkloadsRestarted'), want, name);
    const [status, reason] = want.split('/');
    speaksFirst(WORKLOADS_RESTARTED, rule, { what: name, facts: f.facts, ...(status ? { status } : {}), ...(reason ? { reason } : {}) });
  }
  assert.is(WORKLOADS_RESTARTED.length, 9);
  const unjudged = facts([finding({}, 'undecided')], [workload('web', ['a'])]).plan.report.conditions.find((c) => c.type === 'WorkloadsRestarted');
  assert.match(unjudged?.message ?? '', /1 workload\(s\) use them \(deployment\/apps\/web\)/);
});

test('the dependents of a Secret are its users not opted out (one definition, used by pacing and dry run)', () => {
  const obs = observation([finding()], [workload('web', ['a']), workload('kept', ['a'], { optOut: 'x' }), workload('other', ['b'])]);
  const deps = dependentsIn(obs);
  assert.equal(
    deps.usersOf({ namespace: 'apps', name: 'a' }).map((w) => w.metadata.name),
    ['web', 'kept'],
  );
  assert.equal(
    deps.dependentsOf({ namespace: 'apps', name: 'a' }).map((w) => w.metadata.name),
    ['web'],
  );
  const dry = planLegacyTokens(resolveSpec({ dryRun: true }), obs, undefined);
  assert.equal(dry.report.summary.wouldRestart, ['deployment/apps/web']);
});

test.run();

// How a rotation goes on one reconcile, decided in the plan: the gate before blanking (the canary that
// proves the tokens controller, a blank overdue) and the batch (how many Secrets blank at once), each
// rule with its own table rows; the step paceRotations assembles; and the status worded after acting.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { firstVerdict } from '../../../src/api/rules.ts';
import {
  DEAD_TOKEN_CONCURRENCY,
  BATCH_RULES,
  batchLimit,
  CANARY_RETRY_MS,
  paceRotations,
  REFILL_RECHECK_MS,
  ROTATION_GATE,
  type BatchCase,
  type PaceFacts,
  type PaceInput,
} from '../../../src/areas/legacytokens/rotation/pace.ts';
import { LEGACY_TOKENS_READY } from '../../../src/areas/legacytokens/conditions.ts';
import { factsOf, planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import type { LegacyTokensAction, LegacyTokensPlan, RotateAction } from '../../../src/areas/legacytokens/types.ts';
import { noProgress, type RotationProgress } from '../../../src/areas/legacytokens/rotation/ledger.ts';
import { statusOf } from '../../../src/areas/legacytokens/status.ts';
import { cachedTokenSecret } from '../../support/builders.ts';
import { checkRuleTable } from '../../support/rule-table.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const NS = 'authpolicy-system';
const rotate = (name: string, triggers: RotateAction['triggers'] = ['InvalidToken']): RotateAction => ({
  kind: 'rotate',
  secret: { namespace: 'apps', name, resourceVersion: '7' },
  rotation: `r-${name}`,
  triggers,
  request: undefined,
  tokenHash: `h-${name}`,
  apiservers: 'ap-1',
});
const progress = (canary: Partial<RotationProgress['canary']> = {}, over: Partial<RotationProgress> = {}): RotationProgress => ({
  ...noProgress(NS),
  canary: { ...noProgress(NS).canary, ...canary },
  ...over,
});
const facts = (over: Partial<PaceFacts> = {}): PaceFacts => ({
  dryRun: false,
  now: NOW,
  timeoutMs: 5000,
  progress: progress(),
  toBlank: [rotate('a-token')],
  blank: 0,
  overdue: [],
  ...over,
});
const pendingCanary = (createdAgoMs: number, filled: boolean) => ({ name: 'authpolicy-canary-1', namespace: NS, createdAt: NOW - createdAgoMs, filled });
const rule = (name: string) => {
  const found = ROTATION_GATE.find((r) => r.name === name) ?? BATCH_RULES.find((r) => r.name === name);
  if (!found) throw new Error(`no rule ${name}`);
  return found;
};

const test = suite('legacyTokens rotation pace');

test('the gate: each rule speaks for its situation and for nothing above it', () => {
  const failed = { failure: 'the canary was not filled', failedAt: NOW - 10_000 };
  const rows: [string, PaceFacts, string, string, string, string[]][] = [
    ['dry run', facts({ dryRun: true, overdue: ['apps/x'] }), 'dry run', 'True', 'DryRun', []],
    ['a blank overdue', facts({ overdue: ['apps/x'] }), 'a blank overdue', 'False', 'TokenControllerUnavailable', []],
    ['nothing to blank', facts({ toBlank: [], blank: 2 }), 'nothing to blank', 'True', 'NothingToBlank', []],
    [
      'proven 9 minutes ago',
      facts({ progress: progress({ verifiedAt: NOW - 9 * 60_000 }) }),
      'tokens controller proven lately',
      'True',
      'TokensControllerProven',
      [],
    ],
    ['canary failed 10 s ago', facts({ progress: progress(failed) }), 'canary failed lately', 'False', 'TokenControllerUnavailable', []],
    [
      'canary filled (proof 11 minutes old)',
      facts({ progress: progress({ verifiedAt: NOW - 11 * 60_000, pending: pendingCanary(500, true) }) }),
      'canary filled',
      'True',
      'CanaryFilled',
      ['deleteCanary'],
    ],
    [
      'canary retried after a failure, awaited',
      facts({ progress: progress({ failure: 'the canary was not filled', failedAt: NOW - 40_000, pending: pendingCanary(1000, false) }) }),
      'canary awaited after a failure',
      'False',
      'TokenControllerUnavailable',
      [],
    ],
    ['canary awaited', facts({ progress: progress({ pending: pendingCanary(4999, false) }) }), 'canary awaited', 'Unknown', 'AwaitingCanary', []],
    [
      'canary not filled in time',
      facts({ progress: progress({ pending: pendingCanary(5000, false) }) }),
      'canary not filled in time',
      'False',
      'TokenControllerUnavailable',
      ['deleteCanary'],
    ],
    [
      'a canary again, 40 s after one failed (one left behind is deleted first)',
      facts({ progress: progress({ failure: 'the canary was not filled', failedAt: NOW - 40_000, leftovers: ['authpolicy-canary-0'] }) }),
      'canary again after a failure',
      'False',
      'TokenControllerUnavailable',
      ['deleteCanary', 'createCanary'],
    ],
    ['never proven', facts(), 'prove the tokens controller', 'Unknown', 'ProvingTokensController', ['createCanary']],
  ];
  for (const [what, f, want, status, reason, actions] of rows) {
    const at = ROTATION_GATE.findIndex((r) => r.name === want);
    for (const above of ROTATION_GATE.slice(0, at)) checkRuleTable(above, [{ what: `${what} (above ${want})`, facts: f, applies: false }]);
    checkRuleTable(rule(want) as (typeof ROTATION_GATE)[number], [{ what, facts: f, applies: true, status, reason, actions }]);
  }
  assert.match(firstVerdict(ROTATION_GATE, facts({ overdue: ['apps/x'] })).message, /did not refill apps\/x within 5s; rotation paused/);
  assert.match(
    firstVerdict(ROTATION_GATE, facts({ progress: progress({ pending: pendingCanary(5000, false) }) })).message,
    /did not fill the canary Secret authpolicy-system\/authpolicy-canary-1 within 5s, so no live token Secret was touched/,
  );
  // A Warning Event when found unavailable; none while an earlier failure holds.
  const events = (f: PaceFacts) => (firstVerdict(ROTATION_GATE, f).refusals ?? []).map((r) => r.reason);
  assert.equal(events(facts({ overdue: ['apps/x'] })), ['TokenControllerUnavailable']);
  assert.equal(events(facts({ progress: progress(failed) })), ['TokenControllerUnavailable']);
  assert.equal(events(facts({ progress: progress({ failure: 'x', failedAt: NOW - 40_000 }) })), []);
});

test(`the batch: the first live Secret alone, then 4 working or ${DEAD_TOKEN_CONCURRENCY} refused tokens blank at once`, () => {
  const b = (over: Partial<BatchCase>): BatchCase => ({ rotation: rotate('a-token'), provenLive: true, ...over });
  checkRuleTable(rule('first live Secret alone') as (typeof BATCH_RULES)[number], [
    { what: 'no live refill seen', facts: b({ provenLive: false }), applies: true, reason: 'FirstLiveSecretAlone' },
    { what: 'a live refill seen', facts: b({}), applies: false },
  ]);
  checkRuleTable(rule('a refused token') as (typeof BATCH_RULES)[number], [
    { what: 'InvalidToken', facts: b({}), applies: true, reason: 'RefusedTokensMany', message: new RegExp(`up to ${DEAD_TOKEN_CONCURRENCY}`) },
    { what: 'MaxAge only', facts: b({ rotation: rotate('a-token', ['MaxAge']) }), applies: false },
  ]);
  checkRuleTable(rule('a working token') as (typeof BATCH_RULES)[number], [
    { what: 'StaleCA', facts: b({ rotation: rotate('a-token', ['StaleCA']) }), applies: true, reason: 'WorkingTokensFew', message: /up to 4/ },
  ]);
  assert.equal([b({ provenLive: false }), b({}), b({ rotation: rotate('a-token', ['MaxAge']) })].map(batchLimit), [1, DEAD_TOKEN_CONCURRENCY, 4]);
});

const input = (over: Partial<PaceInput> = {}): PaceInput => ({
  now: NOW,
  timeoutMs: 5000,
  dryRun: false,
  actions: [],
  awaitingRefill: [],
  refilledRotations: 1,
  progress: progress({ verifiedAt: NOW - 1000 }),
  ...over,
});
const names = (writes: readonly LegacyTokensAction[]): string[] => writes.map((a) => ('secret' in a ? `${a.kind}:${a.secret.name}` : a.kind));

test('the step: which Secrets blank now, and which writes go with them', () => {
  const many = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => rotate(`${n}-token`, ['MaxAge']));
  assert.equal(
    names(paceRotations(input({ actions: many })).writes),
    ['a', 'b', 'c', 'd'].map((n) => `rotate:${n}-token`),
    'four working tokens',
  );
  assert.equal(
    names(paceRotations(input({ actions: many, awaitingRefill: [{ namespace: 'apps', name: 'x', rotatedAt: '2026-05-31T23:59:59Z' }] })).writes),
    ['a', 'b', 'c'].map((n) => `rotate:${n}-token`),
    'the Secrets still blank count against the four',
  );
  assert.equal(names(paceRotations(input({ actions: many, refilledRotations: 0 })).writes), ['rotate:a-token'], 'no live refill seen: one alone');
  const seen = paceRotations(input({ actions: many, refilledRotations: 0, progress: progress({ verifiedAt: NOW - 1000, liveRefilledAt: NOW - 500 }, {}) }));
  assert.is(seen.writes.length, 4, 'a refill this process saw since its canary is proof too');
  const refilledNow = paceRotations(
    input({
      actions: many,
      refilledRotations: 0,
      progress: progress({ verifiedAt: NOW - 1000 }, { awaited: [{ secret: 'apps/z-token', namespace: 'apps', unseen: false }] }),
    }),
  );
  assert.equal([refilledNow.record.refilled, refilledNow.writes.length], [['apps/z-token'], 4], 'a blank seen refilled now: counted, and proof');
  const lagging = paceRotations(
    input({
      actions: many.slice(0, 2),
      progress: progress({ verifiedAt: NOW - 1000 }, { awaited: [{ secret: 'apps/a-token', namespace: 'apps', unseen: true }] }),
    }),
  );
  assert.equal(names(lagging.writes), ['rotate:b-token'], 'a blank the cache has not shown is not repeated, and counts as blank');
  assert.equal(lagging.record.refilled, [], 'nor is it taken for refilled');
  const restart: LegacyTokensAction = { kind: 'restart', workload: { kind: 'Deployment', namespace: 'apps', name: 'web' }, rotations: ['r-1'] };
  const done = (rv: string): LegacyTokensAction => ({
    kind: 'finish',
    secret: { namespace: 'apps', name: 'm-token', resourceVersion: rv },
    rotation: 'r-m',
    restarted: [],
    notRestarted: [],
    restartsDisabled: false,
  });
  const revive: LegacyTokensAction = { kind: 'revive', secret: { namespace: 'apps', name: 'old-token', resourceVersion: '3' } };
  assert.equal(
    names(paceRotations(input({ actions: [done('9'), restart, revive, rotate('a-token')] })).writes),
    ['revive:old-token', 'rotate:a-token', 'restart', 'finish:m-token'],
    'revive, the blanks, then restarts and done marks',
  );
  const held = paceRotations(input({ actions: [done('9'), restart, revive, rotate('a-token')], progress: progress({ failure: 'x', failedAt: NOW - 1000 }) }));
  assert.equal(names(held.writes), ['revive:old-token'], 'the gate holds: restarts and done marks wait too');
  const marked = progress({ verifiedAt: NOW - 1000 }, { marked: [{ secret: 'apps/m-token', resourceVersion: '9', unseen: false }] });
  const again = paceRotations(input({ actions: [done('9'), done('9')].slice(0, 1), progress: marked }));
  assert.equal(names(again.writes), [], 'a done mark planned from the very version this process marked is not written again');
  assert.equal(again.record.marksSeen, ['apps/m-token'], 'and, shown by the cache, is forgotten');
  assert.equal(names(paceRotations(input({ actions: [done('10')], progress: marked })).writes), ['finish:m-token'], 'another version is written');
  assert.equal(paceRotations(input({ actions: many, dryRun: true })).writes, [], 'dry run: nothing');
});

const planned = (step: ReturnType<typeof paceRotations>, actions: LegacyTokensAction[] = [], dryRun = false): LegacyTokensPlan => ({
  actions,
  dryRun,
  awaitingRefill: [],
  refilledRotations: 0,
  step,
  report: { conditions: [], findings: [], summary: { rotating: 1 }, requeueAfterMs: 3000 },
});
const none = { blanked: [], restarted: [], finished: [] };

test('the status after acting: the plan speaks; look again by what is awaited', () => {
  const rows: [string, LegacyTokensPlan, number | undefined][] = [
    [
      'a blank overdue: a canary again in 30 s',
      planned(paceRotations(input({ actions: [rotate('a')], awaitingRefill: [{ namespace: 'apps', name: 'x', rotatedAt: undefined }] }))),
      CANARY_RETRY_MS,
    ],
    [
      'an earlier failure held while a canary is awaited',
      planned(paceRotations(input({ actions: [rotate('a')], progress: progress({ failure: 'x', failedAt: NOW - 40_000 }) }))),
      REFILL_RECHECK_MS,
    ],
    ['blanks awaited', planned(paceRotations(input({ actions: [rotate('a')] }))), REFILL_RECHECK_MS],
    [
      'restarts written, nothing awaited',
      planned(paceRotations(input({ progress: progress() })), [
        { kind: 'restart', workload: { kind: 'Deployment', namespace: 'apps', name: 'w' }, rotations: [] },
      ]),
      1000,
    ],
    ["nothing to do: the plan's own", planned(paceRotations(input({ progress: progress() }))), 3000],
    ["dry run: the plan's own", planned(paceRotations(input({ actions: [rotate('a')], dryRun: true })), [rotate('a')], true), 3000],
  ];
  for (const [what, plan, want] of rows) {
    const report = statusOf(plan, none);
    assert.is(report.requeueAfterMs, want, what);
    assert.equal(report.summary, { rotating: 1 }, `${what}: status.legacyTokens as planned`);
  }
});

test('LegacyTokensReady words the gate: TokenControllerUnavailable with its message, and status.legacyTokens says it', () => {
  const s = cachedTokenSecret('a-token');
  const observation = {
    secrets: [
      {
        secret: s,
        serviceAccount: 'ok' as const,
        verdict: { validity: 'invalid' as const, reason: 'KeyNotPublished' as const, detail: 'x', source: 'offline' as const },
        staleCA: false,
        terminating: undefined,
      },
    ],
    workloads: [],
    consumers: [],
    keySource: { kind: 'published' as const, keys: 1 },
    externalSigning: undefined,
    apiservers: 'ap-1',
    now: NOW,
    progress: progress({ pending: pendingCanary(60_000, false) }), // tokenControllerTimeout: 60 s by default
  };
  const f = factsOf(resolveSpec({}), observation, undefined, undefined);
  const plan = planLegacyTokens(resolveSpec({}), observation, undefined);
  assert.match(String(plan.report.summary.tokenControllerUnavailable), /did not fill the canary Secret authpolicy-system\/authpolicy-canary-1 within 60s/);
  assert.equal(
    plan.report.findings.filter((x) => x.subject === 'kube-controller-manager').map((x) => x.health),
    ['action'],
  );
  checkRuleTable(LEGACY_TOKENS_READY[0] as (typeof LEGACY_TOKENS_READY)[number], [
    {
      what: 'the canary not filled in time',
      facts: f,
      applies: true,
      status: 'False',
      reason: 'TokenControllerUnavailable',
      message: /did not fill the canary Secret/,
    },
    {
      what: 'a canary awaited',
      facts: factsOf(resolveSpec({}), { ...observation, progress: progress({ pending: pendingCanary(10, false) }) }, undefined, undefined),
      applies: false,
    },
  ]);
});

test.run();

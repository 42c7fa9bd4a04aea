// Stale writes in the legacy-token area, over the in-memory API server: every write with a
// precondition carries the resourceVersion of the Secret the plan judged. A Secret changed between
// plan and act is a 409 and nothing written; the controller's immediate retry plans afresh from the
// Secret as it is now, and that plan decides again. (A restart is a server-side apply of the
// operator's own three annotations, under its own field manager, with no precondition: it only
// adds marks, and a workload's status moves on during every rollout.)
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import * as annotations from '../../../src/api/annotations.ts';
import { resolveSpec, type ResolvedSpec } from '../../../src/api/defaults.ts';
import type { AuthPolicySpec } from '../../../src/api/types.ts';
import { createActor } from '../../../src/areas/legacytokens/act.ts';
import { RotationLedger } from '../../../src/areas/legacytokens/rotation/ledger.ts';
import { RotationRunEvents } from '../../../src/areas/legacytokens/rotation/events.ts';
import { tokenSecretCache, type TokenSecret } from '../../../src/areas/legacytokens/caches.ts';
import type { LegacyTokensObservation, SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens, type LegacyTokensPlan } from '../../../src/areas/legacytokens/plan.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';
import { secretPath, tokenSecret } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const OPERATOR_NS = 'authpolicy-system';
/** The token-Secret cache as the wiring makes it: what observe reads, here over the in-memory store. */
const secretCache = tokenSecretCache(new PublishedKeys());

/** What observe would say of a token: the test names the tokens the API server refuses (by their fingerprint). */
type Judge = (s: TokenSecret) => SecretFinding['verdict']['validity'];

interface World {
  client: MemoryClient;
  clock: TestClock;
  spec: ResolvedSpec;
  ledger: RotationLedger;
}
function world(spec: AuthPolicySpec = {}): World {
  const clock = new TestClock();
  const ledger = new RotationLedger(OPERATOR_NS);
  // The tokens controller proven a moment ago: the rotation itself is what is under test.
  ledger.canary.verifiedAt = clock.now().getTime();
  return { client: new MemoryClient(clock.now), clock, spec: resolveSpec(spec), ledger };
}

/** The observation of the store as it is now, read through the area's own Secret cache (and the ledger against it), with the verdicts `judge` gives. */
function observed(w: World, judge: Judge): LegacyTokensObservation {
  const secrets = w.client
    .cache(secretCache)
    .list()
    .map((secret): SecretFinding => {
      const validity = judge(secret);
      const verdict: SecretFinding['verdict'] =
        validity === 'invalid'
          ? { validity, reason: 'KeyNotPublished', detail: 'signed by a key the API server no longer publishes', source: 'offline' }
          : validity === 'valid'
            ? { validity, reason: 'Valid', detail: 'the API server would accept it', source: 'offline' }
            : { validity: 'noToken', reason: 'NoToken', detail: 'the Secret holds no token (yet)', source: 'offline' };
      return { secret, serviceAccount: 'ok', verdict, staleCA: false, terminating: undefined };
    });
  const now = w.clock.now().getTime();
  const progress = w.ledger.progress(w.client.cache(secretCache));
  return { secrets, workloads: [], consumers: [], keySource: { kind: 'published', keys: 1 }, externalSigning: undefined, apiservers: 'ap-1', now, progress };
}
const planFrom = (w: World, judge: Judge): LegacyTokensPlan => planLegacyTokens(w.spec, observed(w, judge), undefined);

async function act(w: World, plan: LegacyTokensPlan) {
  const { ctx, events } = memoryContext(w.client, w.clock, w.spec);
  let error: unknown;
  await createActor({ ledger: w.ledger, recent: new Map(), runEvents: new RotationRunEvents() })(ctx, plan).catch((err: unknown) => {
    error = err;
  });
  return { error, reasons: events.map((e) => `${e.type}/${e.reason}`) };
}
const stored = (w: World, name: string) => w.client.peek(secretPath(name));
const tokenOf = (w: World, name: string): string | undefined => (stored(w, name)?.data as Record<string, string> | undefined)?.token;
const hashOf = (w: World, name: string): string | undefined => w.client.cache(secretCache).get(name, 'apps')?.tokenHash;
const kinds = (p: LegacyTokensPlan): string[] => p.actions.map((a) => a.kind);
/** Another writer gives the Secret a token of its own (as the tokens controller or a user does). */
function newToken(w: World, name: string, token: string): void {
  w.client.poke(secretPath(name), (o) => {
    o.data = { ...(o.data as object), token: Buffer.from(token).toString('base64') };
  });
}

const test = suite('legacyTokens: stale writes');

test('stale rotate: a Secret given a working token after the plan judged its old one dead is not blanked (409); the fresh plan leaves it', async () => {
  const w = world();
  w.client.seed(secretPath('a-token'), tokenSecret('a-token'));
  const dead = hashOf(w, 'a-token');
  const judge: Judge = (s) => (s.tokenHash === dead ? 'invalid' : 'valid');
  const plan = planFrom(w, judge);
  assert.equal(kinds(plan), ['rotate'], 'the plan judged the dead token');
  newToken(w, 'a-token', 'a-working-token');
  const r = await act(w, plan);
  assert.equal(
    w.client.callsOf('mergePatch', '/secrets/a-token').map((c) => (c.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion),
    [plan.actions[0]?.kind === 'rotate' ? plan.actions[0].secret.resourceVersion : 'none'],
    'one blank, under the version the plan judged',
  );
  assert.is(tokenOf(w, 'a-token'), Buffer.from('a-working-token').toString('base64'), 'the new token is not blanked');
  assert.equal(r.reasons, [], 'no TokenRotated Event claims a blank');
  const fresh = planFrom(w, judge);
  assert.equal(kinds(fresh), [], 'the fresh plan judges the new token: nothing to rotate');
  assert.is(fresh.report.conditions[0]?.reason, 'TokensValid');
});

test('stale finish: a pending rotation whose Secret changed after the plan judged it refilled is not marked done (409); the fresh plan decides again', async () => {
  const w = world();
  w.client.seed(
    secretPath('a-token'),
    tokenSecret('a-token', {
      token: 'reissued',
      annotations: { [annotations.ROTATION]: 'r-1', [annotations.ROTATION_STATE]: 'pending', [annotations.ROTATED_AT]: w.clock.now().toISOString() },
    }),
  );
  const judge: Judge = (s) => (s.tokenHash ? 'valid' : 'noToken');
  const plan = planFrom(w, judge);
  assert.equal(kinds(plan), ['finish'], 'refilled, nothing to restart: the plan would mark it done');
  // Blanked again by someone else since (kubectl edit): the rotation is not complete any more.
  w.client.poke(secretPath('a-token'), (o) => {
    o.data = { 'ca.crt': (o.data as Record<string, string>)['ca.crt'] };
  });
  const r = await act(w, plan);
  assert.ok(isConflict(r.error), 'the conflict goes to the controller, which plans again at once');
  assert.is((stored(w, 'a-token')?.metadata.annotations as Record<string, string>)[annotations.ROTATION_STATE], 'pending', 'not marked done');
  assert.equal(r.reasons, [], 'no RotationFinished Event, no Warning for a conflict');
  const fresh = planFrom(w, judge);
  assert.equal(kinds(fresh), [], 'the fresh plan sees it awaiting its token: nothing to finish yet');
  assert.is(fresh.report.conditions[0]?.reason, 'Rotating');
});

test("stale revive: a Secret the cleaner re-labelled after the plan judged it keeps the cleaner's label (409); the fresh plan revives the new version", async () => {
  const w = world({ legacyTokens: { reviveInvalidated: true } });
  w.client.seed(secretPath('old-token'), tokenSecret('old-token', { labels: { [annotations.LEGACY_TOKEN_INVALID_SINCE]: '2026-01-01' } }));
  const judge: Judge = () => 'invalid';
  const plan = planFrom(w, judge);
  assert.equal(kinds(plan), ['revive']);
  w.client.poke(secretPath('old-token'), (o) => {
    o.metadata.labels = { [annotations.LEGACY_TOKEN_INVALID_SINCE]: '2026-05-31' };
  });
  const r = await act(w, plan);
  assert.ok(isConflict(r.error), 'a 409: the revive was written under the version the plan judged');
  assert.equal(stored(w, 'old-token')?.metadata.labels, { [annotations.LEGACY_TOKEN_INVALID_SINCE]: '2026-05-31' }, 'the new label is not removed unjudged');
  assert.equal(r.reasons, [], 'no TokenRevived Event claims it');
  const fresh = planFrom(w, judge);
  assert.equal(kinds(fresh), ['revive'], 'judged again, from the version the server has now');
  const again = await act(w, fresh);
  assert.is(again.error, undefined);
  assert.equal(stored(w, 'old-token')?.metadata.labels, {});
  assert.equal(again.reasons, ['Normal/TokenRevived']);
});

test.run();

// Which watched changes cost a reconcile: not a resourceVersion-only update, not the operator's own status
// write, not the API server's daily last-used stamp on a token Secret.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';
import { LEGACY_TOKEN_CLEANUP_PERIOD_MS, tokenSecretCache, tokenSecretChangeMatters } from '../../../src/kube/token-secrets.ts';
import { unchangedButVersion } from '../../../src/policy/caches.ts';
import { policyChangeMatters } from '../../../src/policy/reconciler.ts';
import { authPolicy, cachedTokenSecret } from '../../support/builders.ts';

const test = suite('changes that need a reconcile');

const NOW = Date.parse('2026-12-06T12:00:00Z');
const withVersion = <T extends { metadata: object }>(o: T, resourceVersion: string): T => ({ ...o, metadata: { ...o.metadata, resourceVersion } });

test('an update that changed only the resourceVersion of what is cached changes nothing the areas read', () => {
  const s = cachedTokenSecret('build');
  assert.ok(unchangedButVersion('update', withVersion(s, '2'), s));
  assert.not.ok(unchangedButVersion('update', withVersion({ ...s, tokenHash: 'h-new' }, '2'), s), 'a new token');
  assert.not.ok(unchangedButVersion('add', s, undefined));
  assert.not.ok(unchangedButVersion('delete', s, undefined));
});

test("an AuthPolicy's status-only update (the operator's own write) needs no reconcile; spec, labels, annotations do", () => {
  const p = authPolicy();
  const written = withVersion({ ...p, status: { observedGeneration: 1, conditions: [] } }, '9');
  assert.not.ok(policyChangeMatters(written, p));
  assert.ok(policyChangeMatters({ ...written, spec: { ...p.spec, dryRun: true }, metadata: { ...written.metadata, generation: 2 } }, p));
  assert.ok(policyChangeMatters({ ...written, metadata: { ...written.metadata, annotations: { a: 'b' } } }, p));
  assert.ok(policyChangeMatters(p, undefined));
});

test('the daily last-used stamp on a token Secret needs no reconcile, unless it can end its being unused for a year', () => {
  const used = cachedTokenSecret('build', { lastUsed: '2026-12-05' });
  assert.not.ok(tokenSecretChangeMatters('update', withVersion({ ...used, lastUsed: '2026-12-06' }, '2'), used, NOW), 'used yesterday');
  const fresh = cachedTokenSecret('build', { metadata: { ...used.metadata, creationTimestamp: '2026-12-01T00:00:00Z' } });
  assert.not.ok(tokenSecretChangeMatters('update', withVersion({ ...fresh, lastUsed: '2026-12-06' }, '2'), fresh, NOW), 'first use of a new token');
  const dormant = cachedTokenSecret('old', { lastUsed: '2025-11-01' });
  assert.ok(tokenSecretChangeMatters('update', withVersion({ ...dormant, lastUsed: '2026-12-06' }, '2'), dormant, NOW), 'unused for a year');
  const neverUsed = cachedTokenSecret('old', { metadata: { ...used.metadata, creationTimestamp: '2025-10-01T00:00:00Z' } });
  assert.ok(tokenSecretChangeMatters('update', withVersion({ ...neverUsed, lastUsed: '2026-12-06' }, '2'), neverUsed, NOW), 'created over a year ago');
  assert.ok(tokenSecretChangeMatters('update', withVersion({ ...used, lastUsed: '2026-12-06', tokenHash: 'h-new' }, '2'), used, NOW), 'and a new token');
  assert.ok(tokenSecretChangeMatters('update', withVersion({ ...used, rotationState: 'blanked' }, '2'), used, NOW), 'any other change');
  assert.ok(tokenSecretChangeMatters('delete', used, undefined, NOW));
});

test("the last-used line is the cleaner's one-year period, less a day; the cache judges by the clock it was made with", () => {
  const DAY = 24 * 3600_000;
  assert.is(LEGACY_TOKEN_CLEANUP_PERIOD_MS, 365 * DAY, "kube-controller-manager's default --legacy-service-account-token-clean-up-period");
  const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  const stamped = (lastUsedMs: number) => {
    const old = cachedTokenSecret('build', { lastUsed: day(lastUsedMs) });
    return [withVersion({ ...old, lastUsed: day(NOW) }, '2'), old] as const;
  };
  const [inside, insideOld] = stamped(NOW - LEGACY_TOKEN_CLEANUP_PERIOD_MS + 3 * DAY);
  assert.not.ok(tokenSecretChangeMatters('update', inside, insideOld, NOW), 'unused for two days less than the period, less a day');
  const [beyond, beyondOld] = stamped(NOW - LEGACY_TOKEN_CLEANUP_PERIOD_MS + DAY / 2);
  assert.ok(tokenSecretChangeMatters('update', beyond, beyondOld, NOW), 'unused for the period, less half a day');
  let clock = NOW;
  const cache = tokenSecretCache(new PublishedKeys(), () => clock);
  assert.not.ok(cache.relevant?.('update', inside, insideOld), "at the wiring clock's NOW");
  clock = NOW + 3 * DAY;
  assert.ok(cache.relevant?.('update', inside, insideOld), 'three days later by the same clock');
});

test.run();

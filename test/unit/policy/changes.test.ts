// Which watched changes cost a reconcile: not a resourceVersion-only update, not the operator's own status
// write, not the API server's daily last-used stamp on a token Secret.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenSecretChangeMatters } from '../../../src/kube/token-secrets.ts';
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

test.run();

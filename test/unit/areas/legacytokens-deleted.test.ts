// A token Secret deleted while workloads still use it (issue #24): remembered from the informer's
// delete event for as long as a workload names it, reported with those workloads and the fix.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { TokenSecret } from '../../../src/areas/legacytokens/caches.ts';
import { DeletedTokenSecrets } from '../../../src/areas/legacytokens/rotation/deleted-secrets.ts';
import type { LegacyTokensObservation } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import type { EventType, Handler } from '../../../src/runtime/informer.ts';
import { cachedTokenSecret } from '../../support/builders.ts';

const test = suite('legacyTokens: deleted Secrets still in use');
const NOW = Date.parse('2026-06-01T00:00:00Z');

function informer(): { on: (h: Handler<TokenSecret>) => void; emit: (type: EventType, obj: TokenSecret) => void; handlers: number } {
  const handlers: Handler<TokenSecret>[] = [];
  const self = {
    on: (h: Handler<TokenSecret>) => {
      handlers.push(h);
      self.handlers = handlers.length;
    },
    emit: (type: EventType, obj: TokenSecret) => {
      for (const h of handlers) h(type, obj, undefined);
    },
    handlers: 0,
  };
  return self;
}
const secret = (name: string, invalidSince?: string): TokenSecret =>
  cachedTokenSecret(name, { invalidSince, lastUsed: invalidSince ? '2025-04-01' : undefined });

test('remembered from the delete event while in use; forgotten when re-created or no longer used; one listener per informer', () => {
  const deleted = new DeletedTokenSecrets(() => NOW);
  const inf = informer();
  deleted.watch(inf);
  deleted.watch(inf);
  assert.is(inf.handlers, 1);
  inf.emit('delete', secret('cleaned', '2025-05-01'));
  inf.emit('delete', secret('unused'));
  inf.emit('delete', secret('back'));
  inf.emit('add', secret('back'));
  const used = new Set(['apps/cleaned', 'apps/back']);
  assert.equal(
    deleted.stillUsed((id) => used.has(id)),
    [{ secret: 'apps/cleaned', deletedAt: '2026-06-01T00:00:00.000Z', invalidSince: '2025-05-01', lastUsed: '2025-04-01' }],
  );
  assert.equal(
    deleted.stillUsed(() => true).map((d) => d.secret),
    ['apps/cleaned'],
    'the unused one was forgotten',
  );
});

test('reported: LegacyTokensReady False naming the cleaner, the workloads and the fix; a finding per workload', () => {
  const obs: LegacyTokensObservation = {
    secrets: [],
    workloads: [],
    consumers: [],
    keySource: { kind: 'published', keys: 1 },
    externalSigning: undefined,
    apiservers: 'ap-1',
    now: NOW,
    deletedInUse: [
      { secret: 'apps/cleaned', deletedAt: '2026-06-01T00:00:00.000Z', invalidSince: '2025-05-01', lastUsed: '2025-04-01', users: ['deployment/apps/web'] },
    ],
  };
  const plan = planLegacyTokens(resolveSpec({}), obs, undefined);
  const c = plan.report.conditions.find((x) => x.type === 'LegacyTokensReady');
  assert.is(`${c?.status}/${c?.reason}`, 'False/DeletedSecretReferenced');
  assert.match(
    c?.message ?? '',
    /secret apps\/cleaned was deleted by kube-controller-manager's legacy-token cleaner \(invalid since 2025-05-01, last used 2025-04-01\)/,
  );
  assert.match(c?.message ?? '', /still used by deployment\/apps\/web/);
  assert.match(c?.message ?? '', /projected serviceAccountToken volumes/);
  assert.equal(
    plan.report.findings.map((f) => `${f.subject} ${f.health}`),
    ['deployment/apps/web action'],
  );
  assert.is((plan.report.summary.deletedInUse as string[]).length, 1);
});

test.run();

// What one legacy-token plan costs at a given size, in process, with no cluster: the default bench size mid-rotation
// (5,000 token Secrets in 100 namespaces, 1,000 Deployments using 5 each, 10,000 Pods reading them), planned again
// after a handful of Secrets changed, as on each reconcile of a rotation. Prints one JSON line: milliseconds and
// garbage-collection milliseconds per plan. Run it under the shipped V8 flags to see the collector's share:
//   node --max-semi-space-size=1 bench/plan-cost.ts [plans=200] [secrets=5000]
// A quick before-and-after for a change to the plan; the bench's rotations are the measurement that counts.
import { PerformanceObserver } from 'node:perf_hooks';
import { resolveSpec } from '../src/api/defaults.ts';
import type { TokenSecret, Workload } from '../src/areas/legacytokens/caches.ts';
import type { LegacyTokensObservation, SecretFinding, TokenConsumer } from '../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../src/areas/legacytokens/plan.ts';
import { JudgedSecrets } from '../src/areas/legacytokens/judged.ts';
import { noProgress } from '../src/areas/legacytokens/rotation/ledger.ts';
import { cachedTokenSecret } from '../test/support/builders.ts';

const plans = Number(process.argv[2] ?? 200);
const size = Number(process.argv[3] ?? 5000);
const NAMESPACES = 100;
const NOW = Date.parse('2026-06-01T00:00:00Z');

const secret = (i: number): TokenSecret =>
  cachedTokenSecret(`sa-${i}-token`, {
    metadata: { name: `sa-${i}-token`, namespace: `ns-${i % NAMESPACES}`, uid: `uid-${i}`, resourceVersion: '1', creationTimestamp: '2026-05-01T00:00:00Z' },
    serviceAccountName: `sa-${i}`,
    serviceAccountUid: `sa-uid-${i}`,
    tokenHash: `h-${i}`,
  });
const dead = { validity: 'invalid', reason: 'KeyNotPublished', detail: 'signed by a key the API server no longer publishes', source: 'offline' } as const;
const alive = { validity: 'valid', reason: 'Valid', detail: 'the API server would accept it', source: 'offline' } as const;
/** The i-th Secret once its rotation is done: re-issued, valid. */
const rotated = (i: number): SecretFinding => ({
  secret: {
    ...secret(i),
    tokenHash: `h2-${i}`,
    rotation: `r-${i}`,
    rotationState: 'done',
    rotatedAt: '2026-05-31T23:59:00Z',
    rotatedFrom: `h-${i}`,
    rotatedUnder: 'ap',
  },
  serviceAccount: 'ok',
  verdict: alive,
  staleCA: false,
  terminating: undefined,
});
const deadFinding = (i: number): SecretFinding => ({ secret: secret(i), serviceAccount: 'ok', verdict: dead, staleCA: false, terminating: undefined });

const findings = Array.from({ length: size }, (_, i) => (i < size / 2 ? rotated(i) : deadFinding(i)));
const workloads: Workload[] = Array.from({ length: size / 5 }, (_, d) => ({
  kind: 'Deployment',
  metadata: { name: `web-${d}`, namespace: `ns-${(d * 5) % NAMESPACES}`, generation: 1, creationTimestamp: '2026-05-01T00:00:00Z' },
  secrets: Array.from({ length: 5 }, (_, k) => `sa-${d * 5 + k}-token`).filter((_, k) => (d * 5 + k) % NAMESPACES === (d * 5) % NAMESPACES),
  restartedAt: undefined,
  restartedFor: [],
  templateIsOurs: undefined,
  rolloutComplete: true,
}));
const consumers: TokenConsumer[] = workloads.flatMap((w, d) =>
  Array.from({ length: 10 }, (_, p) => ({
    pod: `web-${d}-${p}`,
    namespace: w.metadata.namespace,
    secret: w.secrets[p % Math.max(1, w.secrets.length)] ?? `sa-${d * 5}-token`,
    how: ['volume'],
    createdAt: '2026-05-01T00:00:00Z',
    owner: `Deployment web-${d}`,
    restartable: { kind: 'Deployment' as const, name: w.metadata.name },
    cronJob: undefined,
  })),
);
const judged = new JudgedSecrets(); // kept across plans, as the operator keeps it across reconciles
const spec = resolveSpec({ legacyTokens: { rotateOn: ['InvalidToken'] } });
const observe = (step: number): LegacyTokensObservation => {
  // Each reconcile of a rotation sees ten more Secrets refilled.
  for (let k = 0; k < 10; k++) {
    const i = size / 2 + ((step * 10 + k) % (size / 2));
    findings[i] = rotated(i);
  }
  return {
    secrets: [...findings],
    workloads,
    consumers,
    apiservers: 'ap',
    keySource: { kind: 'published', keys: 1 },
    externalSigning: undefined,
    now: NOW + step * 1000,
    judged,
    progress: { ...noProgress('authpolicy-system'), canary: { verifiedAt: NOW, failedAt: 0, failure: undefined, leftovers: [] } },
  };
};

let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gc.observe({ entryTypes: ['gc'] });
let previous: ReturnType<typeof planLegacyTokens> | undefined;
for (let s = 0; s < 20; s++) previous = planLegacyTokens(spec, observe(s), undefined); // warm up
gcMs = 0;
const cpu = process.cpuUsage();
const started = performance.now();
for (let s = 0; s < plans; s++) previous = planLegacyTokens(spec, observe(20 + s), undefined);
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
await new Promise((r) => setTimeout(r, 200)); // the collector's entries arrive after the loop
gc.disconnect();
console.log(
  JSON.stringify({
    secrets: size,
    plans,
    msPerPlan: +(wallMs / plans).toFixed(2),
    cpuMsPerPlan: +((used.user + used.system) / 1000 / plans).toFixed(2),
    gcMsPerPlan: +(gcMs / plans).toFixed(2),
    actions: previous?.actions.length,
  }),
);

// `run`: the controller. Every replica watches AuthPolicies (/readyz means "the
// AuthPolicy cache synced", listing any other cache that has not and why); only
// the leader starts the areas' caches and reconciles, area by area as each area's
// own caches sync, and it stops both the moment the lease is lost. A standby so
// holds no Secrets, Pods or Leases (its memory stays near Node's own); taking
// over costs one LIST per cache, a few seconds at 5,000 Secrets and 10,000 Pods.
// SIGTERM stops taking work, lets in-flight reconciles finish or abandon,
// releases the lease and exits 0.
import { parseDuration } from '../api/duration.ts';
import { KubeClient } from '../kube/client.ts';
import { Controller } from '../runtime/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { serveHealthAndMetrics } from '../runtime/health.ts';
import { LeaderElector } from '../runtime/leader.ts';
import { createLogger, type LogLevel } from '../runtime/log.ts';
import { Metrics } from '../runtime/metrics.ts';
import { allAreas } from '../policy/areas.ts';
import { CacheSet } from '../policy/caches.ts';
import { makeReconcile, policyCache, policyChangeMatters, RESYNC_MS } from '../policy/reconciler.ts';
import { startAuditReceiver } from '../areas/boundtokens/audit-receiver.ts';
import { markLeader } from '../runtime/leader-label.ts';
import { StaleTokenRegistry } from '../areas/boundtokens/stale-tokens.ts';

export interface RunOptions {
  kubeconfig?: string;
  context?: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaderElectionLeaseDuration: string;
  leaderElectionRenewDeadline: string;
  leaderElectionRetryPeriod: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  logLevel: LogLevel;
  concurrency: number;
  watchInactivityTimeout: string;
  relistInterval: string;
  dryRun: boolean;
  auditWebhookBindAddress?: string;
  auditWebhookCertFile?: string;
  auditWebhookKeyFile?: string;
  auditWebhookClientCaFile?: string;
  /** this replica's pod (downward API), labelled with whether it leads */
  podName?: string;
}

export async function run(opts: RunOptions): Promise<number> {
  const log = createLogger(opts.logLevel);
  const client = KubeClient.fromOptions({ kubeconfig: opts.kubeconfig, context: opts.context });
  const metrics = new Metrics();
  client.observe(metrics.restObserver(new URL(client.server).host));
  client.onDeadConnection = (server) => {
    log.warn('the connection to the API server did not answer a probe within 10 s; opened a new one', { server });
  };
  const caches = new CacheSet(client, log, metrics, {
    inactivityTimeoutMs: parseDuration(opts.watchInactivityTimeout, '--watch-inactivity-timeout'),
    relistIntervalMs: parseDuration(opts.relistInterval, '--relist-interval'),
  });
  const events = new EventRecorder(client, log);
  const staleTokens = opts.auditWebhookBindAddress ? new StaleTokenRegistry() : undefined;
  const areas = allAreas({ client, namespace: opts.leaderElectionNamespace, ...(staleTokens ? { staleTokens } : {}) });
  const deps = { client, caches, areas, log, events, metrics, dryRun: opts.dryRun, failingSince: new Map<string, number>() };

  let controller: Controller | undefined;
  // Changes a watch saw are coalesced (Controller.enqueue): a burst costs one reconcile.
  const enqueueAll = (): void => {
    for (const p of caches.get(policyCache).list()) controller?.enqueue(p.metadata.name);
  };
  const policies = caches.add(policyCache);
  policies.on((type, obj, old) => {
    // A create or delete can change which policy is active: reconcile them all. A status-only update
    // (the operator's own write coming back) needs none.
    if (type !== 'update') enqueueAll();
    else if (policyChangeMatters(obj, old)) controller?.enqueue(obj.metadata.name);
  });
  for (const area of areas) for (const spec of [...area.caches, ...(area.optionalCaches ?? [])]) caches.add(spec, enqueueAll);

  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      shutdown.abort();
    });
  }

  const endpoints = await serveHealthAndMetrics(opts.metricsBindAddress, opts.healthProbeBindAddress, {
    ready: () => caches.readiness([policyCache.name]),
    registry: metrics.registry,
  });
  log.info('serving metrics and health probes', {
    metrics: `${endpoints.metricsUrl}/metrics`,
    health: `${endpoints.healthUrl}/healthz`,
    ready: `${endpoints.healthUrl}/readyz`,
  });
  caches.start([policyCache.name]);
  let receiver: Awaited<ReturnType<typeof startAuditReceiver>> | undefined;
  if (opts.auditWebhookBindAddress && staleTokens) {
    if (!opts.auditWebhookCertFile || !opts.auditWebhookKeyFile || !opts.auditWebhookClientCaFile) {
      throw new Error(
        '--audit-webhook-bind-address needs --audit-webhook-cert-file, --audit-webhook-key-file and --audit-webhook-client-ca-file ' +
          '(the API server must authenticate with a client certificate)',
      );
    }
    receiver = await startAuditReceiver({
      bindAddress: opts.auditWebhookBindAddress,
      certFile: opts.auditWebhookCertFile,
      keyFile: opts.auditWebhookKeyFile,
      clientCAFile: opts.auditWebhookClientCaFile,
      registry: staleTokens,
      log,
    });
  }

  // In a pod (POD_NAME from the downward API): label it leader or not, for the leader-only audit Service.
  const pod = opts.podName ? { namespace: opts.leaderElectionNamespace, name: opts.podName } : undefined;
  if (pod) await markLeader(client, pod, false, log);

  const lead = async (leaderSignal: AbortSignal): Promise<void> => {
    if (pod) await markLeader(client, pod, true, log);
    caches.start();
    try {
      await reconcileWhileLeading(leaderSignal);
    } finally {
      await caches.stopAllBut([policyCache.name]);
      metrics.stepDown(); // the controller has stopped: no reconcile sets a condition after this
      if (pod) await markLeader(client, pod, false, log);
    }
  };

  const reconcileWhileLeading = async (leaderSignal: AbortSignal): Promise<void> => {
    // Nothing can be reported before the AuthPolicy cache has synced (if its CRD is missing the
    // informer says so and retries). Each area then runs only once its own caches have synced
    // (a missing DaemonSet list must not look like "no dependents"); an area whose caches cannot
    // sync reports Unknown saying why, and a cache that syncs later requeues the policies.
    await caches.waitForSync([policyCache.name], 2 ** 31 - 1, leaderSignal).catch(() => undefined);
    if (leaderSignal.aborted) return;
    controller = new Controller({ name: 'authpolicy', reconcile: makeReconcile(deps), concurrency: opts.concurrency, log, metrics });
    controller.start();
    for (const p of policies.list()) controller.queue.add(p.metadata.name);
    const resync = setInterval(() => {
      for (const p of policies.list()) controller?.queue.addLowPriority(p.metadata.name);
    }, RESYNC_MS);
    await new Promise<void>((resolve) => {
      if (leaderSignal.aborted) resolve();
      else
        leaderSignal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
    });
    clearInterval(resync);
    const stopping = controller;
    controller = undefined;
    await stopping.stop();
  };

  if (opts.leaderElect) {
    const elector = new LeaderElector({
      client,
      log,
      metrics,
      namespace: opts.leaderElectionNamespace,
      name: opts.leaderElectionId,
      leaseDurationMs: parseDuration(opts.leaderElectionLeaseDuration, '--leader-election-lease-duration'),
      renewDeadlineMs: parseDuration(opts.leaderElectionRenewDeadline, '--leader-election-renew-deadline'),
      retryPeriodMs: parseDuration(opts.leaderElectionRetryPeriod, '--leader-election-retry-period'),
    });
    log.info('campaigning for leadership', { lease: `${opts.leaderElectionNamespace}/${opts.leaderElectionId}`, identity: elector.identity });
    await elector.run(shutdown.signal, lead);
  } else {
    // No election: this one process reconciles, as a leader would (AuthPolicyNoLeader reads this gauge).
    metrics.leaderStatus.set({ name: opts.leaderElectionId }, 1);
    await lead(shutdown.signal);
  }

  await caches.stop();
  await receiver?.close();
  await endpoints.close();
  log.info('stopped cleanly');
  return 0;
}

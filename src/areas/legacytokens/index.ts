// Legacy service-account token Secrets (the dead-legacy-token incident).
import { ConditionType } from '../../api/reasons.ts';
import { apiserverIdentityCache } from '../../kube/apiserver-identity.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Area } from '../area.ts';
import { createActor } from './act.ts';
import type { RecentRestarts } from './restarts/record.ts';
import {
  daemonSetCache,
  deploymentCache,
  jobOwnersCache,
  namespaceCache,
  podReadersCache,
  replicaSetOwnersCache,
  rootCACache,
  serviceAccountCache,
  statefulSetCache,
  type TokenSecret,
} from './caches.ts';
import type { CacheHandle } from '../../kube/cache-spec.ts';
import type { ApiserverReads } from '../../kube/apiserver-reads.ts';
import type { PublishedKeys } from '../../kube/service-account-keys.ts';
import { DeletedTokenSecrets } from './rotation/deleted-secrets.ts';
import { JudgedSecrets } from './judged.ts';
import { createObserver, type LegacyTokensObservation } from './observe.ts';
import { planLegacyTokens, type LegacyTokensPlan } from './plan.ts';
import { rolloutCache } from './restarts/rollouts.ts';
import { RotationLedger } from './rotation/ledger.ts';
import { RotationRunEvents } from './rotation/events.ts';
import { SecretRereader, TokenReviewer } from './rotation/validate.ts';

/**
 * operatorNamespace: where the canary Secret that proves the tokens controller works is created; keys: the
 * process's published service-account keys, and secrets: the token-Secret cache judging tokens against them,
 * both made at wiring time (src/policy/areas.ts) and shared with the bound-token area; reads: the API server's
 * flags (whether tokens are signed by an external signer), read through the process's one reader.
 */
export function legacyTokensArea(
  client: KubeClient,
  operatorNamespace: string,
  keys: PublishedKeys,
  secrets: CacheHandle<TokenSecret>,
  reads: ApiserverReads,
): Area<LegacyTokensObservation, LegacyTokensPlan> {
  // What act records across reconciles and observe reads back: made here, once, not kept in closures.
  const ledger = new RotationLedger(operatorNamespace);
  const recent: RecentRestarts = new Map();
  const judged = new JudgedSecrets();
  // Fetch the published keys now, so the token-Secret cache can verify signatures as it lists.
  void keys.refresh(client);
  return {
    name: 'legacyTokens',
    conditionTypes: [ConditionType.LegacyTokensReady, ConditionType.WorkloadsRestarted],
    caches: [
      secrets,
      serviceAccountCache,
      namespaceCache,
      rootCACache,
      deploymentCache,
      statefulSetCache,
      daemonSetCache,
      apiserverIdentityCache,
      podReadersCache,
      replicaSetOwnersCache,
      jobOwnersCache,
    ],
    // Argo Rollouts, where the CRD is installed: without it (or without access) the rest goes on.
    optionalCaches: [rolloutCache],
    observe: createObserver(
      new SecretRereader(client, keys),
      new TokenReviewer(client),
      recent,
      new DeletedTokenSecrets(),
      keys,
      secrets,
      ledger,
      reads.flags,
      judged,
    ),
    plan: planLegacyTokens,
    act: createActor({ ledger, recent, runEvents: new RotationRunEvents() }),
    report: (plan) => plan.report,
  };
}

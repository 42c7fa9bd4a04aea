// What the clock area caches: node Leases (renewTime and the API server's stamp of
// that write) and the API servers' identity Leases. Both feed the estimator as
// renewals are seen, not at reconcile time.
import { apiserverIdentityRelevant, apiserverIdentitySpec, type ApiserverIdentityLease } from '../../kube/apiserver-identity.ts';
import { defineCache, type CacheHandle } from '../../kube/cache-spec.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';
import type { ClockEstimator } from './estimator.ts';

export interface NodeLease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  /** spec.renewTime, from the kubelet's clock (ms) */
  renewMs: number | undefined;
  /** when the API server recorded that write (managedFields time of the renewTime owner; ms, second precision) */
  serverMs: number | undefined;
}

interface LeaseRaw {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    managedFields?: { time?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[];
  };
  spec?: { renewTime?: string };
}

/** The API server's own time for the write that set renewTime: the newest managedFields entry owning it. */
export function serverStampMs(raw: LeaseRaw): number | undefined {
  const times = (raw.metadata.managedFields ?? [])
    .filter((m) => m.fieldsV1?.['f:spec'] && 'f:renewTime' in m.fieldsV1['f:spec'])
    .map((m) => Date.parse(m.time ?? ''));
  const valid = times.filter(Number.isFinite);
  return valid.length ? Math.max(...valid) : undefined;
}

/** managedFields times are truncated to the second: on average half a second early. */
const TRUNCATION_MS = 500;

/**
 * Node Leases are listed rather than watched, at least NODE_LEASE_POLL_MS apart. Every kubelet renews its
 * Lease every 10 s, so a watch delivers 200 events a second at 2,000 Nodes, and each costs the operator
 * about 0.4 ms of CPU on the bench's 2-core machine (network, HTTP/2, streams and JSON for one small
 * event with cold caches; 15 µs in a hot loop), about 8 % of a core at idle. A node's offset needs no
 * delivery timing (renewTime and the API server's stamp come in the same object), so one list from the
 * API server's watch cache sees the renewals in one wake-up.
 */
export const NODE_LEASE_POLL_MS = 10_000;

/**
 * A list still costs about 0.1 ms of CPU per Lease (1.6 MB of JSON at 2,000 Nodes: parsing, diffing,
 * collecting), 2 % of a core when repeated every 10 s there. Past 666 Nodes the period grows with them
 * (15 ms per Lease: 2,000 Nodes every 30 s), so polling costs the same at any size; each node's clock is
 * then sampled less often, and a jump is named after 3 samples instead of 30 s.
 */
export const POLL_MS_PER_LEASE = 15;

/** The period between two lists of `leases` node Leases. */
export const nodeLeasePollMs = (leases: number): number => Math.max(NODE_LEASE_POLL_MS, leases * POLL_MS_PER_LEASE);

export interface ClockCaches {
  nodeLeases: CacheHandle<NodeLease>;
  apiservers: CacheHandle<ApiserverIdentityLease>;
}

/**
 * The clock area's caches, feeding `estimator` with every renewal as it arrives.
 * operatorNow: the operator's clock, as its host would read it (times API-server renewals); receivedNow: the
 * clock a renewal's arrival is recorded with (both made at wiring time, clock/index.ts).
 */
export function clockCaches(estimator: ClockEstimator, operatorNow: () => number, receivedNow: () => number): ClockCaches {
  const nodeLeases = defineCache<NodeLease>({
    name: 'node-leases',
    path: collectionPath(Resources.leases, 'kube-node-lease'),
    transform: (raw) => {
      const lease = raw as LeaseRaw;
      const renew = Date.parse(lease.spec?.renewTime ?? '');
      return {
        metadata: { name: lease.metadata.name, namespace: lease.metadata.namespace, resourceVersion: lease.metadata.resourceVersion },
        renewMs: Number.isFinite(renew) ? renew : undefined,
        serverMs: serverStampMs(lease),
      };
    },
    onEvent: (type, lease, old) => {
      if (type === 'delete') {
        estimator.forget('node', lease.metadata.name);
        return;
      }
      if (lease.renewMs === undefined || lease.serverMs === undefined || lease.renewMs === old?.renewMs) return;
      estimator.record('node', lease.metadata.name, lease.renewMs - lease.serverMs - TRUNCATION_MS, receivedNow());
    },
    // Renewals feed the estimator; a reconcile is needed now only when one moves a clock across the line
    // the last one judged by (or a node went away).
    relevant: (type, lease) => type === 'delete' || estimator.crossed('node', lease.metadata.name),
    pollIntervalMs: nodeLeasePollMs,
  });
  const apiservers = defineCache<ApiserverIdentityLease>({
    ...apiserverIdentitySpec,
    onEvent: (type, lease, old) => {
      if (type === 'delete') {
        estimator.forget('apiserver', lease.metadata.name);
        return;
      }
      // Only a renewal seen as it happens times the clock; a listed one may be seconds old.
      if (type !== 'update' || !lease.renewTime || lease.renewTime === old?.renewTime) return;
      estimator.record('apiserver', lease.metadata.name, Date.parse(lease.renewTime) - operatorNow(), receivedNow());
    },
    relevant: (type, lease, old) => apiserverIdentityRelevant(type, lease, old) || estimator.crossed('apiserver', lease.metadata.name),
  });
  return { nodeLeases, apiservers };
}

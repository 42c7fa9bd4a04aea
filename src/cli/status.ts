// `status` (also `kubectl authpolicy status`): what the operator last wrote into
// each AuthPolicy's status, read-only and without observing the cluster itself
// (that is `check`). Exit 0: Ready=True for the current generation; 1: not
// ready, or the operator has not yet observed the current spec; 2: could not read.
import { stringify } from 'yaml';
import type { Condition } from '../api/conditions.ts';
import { CONDITION_ORDER, ConditionType } from '../api/reasons.ts';
import type { AuthPolicy } from '../api/types.ts';
import { KubeClient } from '../kube/client.ts';
import { describeError, isApiMissing, isForbidden, isNotFound, retryAfterMs } from '../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../kube/paths.ts';
import { sleep } from '../runtime/backoff.ts';
import { EXIT_ACTION, EXIT_OK, EXIT_UNCHECKED } from './check.ts';
import { columns } from './columns.ts';
import { parseTimeout, shortError, withDeadline } from './deadline.ts';

export interface StatusOptions {
  kubeconfig?: string;
  context?: string;
  name?: string;
  output: 'table' | 'json' | 'yaml';
  /** how long to wait for the API server (Go duration or seconds; 0: no limit) */
  timeout?: string;
  /** kubectl's name for --timeout */
  requestTimeout?: string;
}

const SAMPLE = 'kubectl apply -f config/samples/authpolicy_v1alpha1_authpolicy.yaml';

/** The few fields of each status.<area> worth a glance; `-o yaml` shows them all. */
const SUMMARY_FIELDS: Record<string, readonly string[]> = {
  nodeAuthorization: ['authorizer', 'kubeletsAuthorized', 'nodes', 'notReadyNodes', 'legacyBinding.state'],
  legacyTokens: [
    'secrets',
    'valid',
    'invalid',
    'orphaned',
    'invalidatedCount',
    'unusedCount',
    'terminatingCount',
    'notRestartedCount',
    'rotating',
    'awaitingRestart',
    'rolloutsInProgress',
    'rolloutsTimedOut',
  ],
  clock: ['maxSkew', 'measured', 'skewed'],
  boundTokens: ['legacyMounts', 'staleTokenReporting', 'apiserverCounters.staleTokensTotal', 'apiserverCounters.legacyTokensTotal'],
};

/** Why a status cannot be trusted for the current spec, or undefined when it can. */
export function staleness(policy: AuthPolicy): string | undefined {
  const observed = policy.status?.observedGeneration;
  if (observed === undefined) return 'not yet observed by the operator (no status): is the operator running?';
  if (observed !== policy.metadata.generation) return `not yet observed by the operator: status is for generation ${observed}`;
  return undefined;
}

/** Ready=True counts only for the spec the user sees now (observedGeneration = generation). */
export function isReady(policy: AuthPolicy): boolean {
  return staleness(policy) === undefined && policy.status?.conditions?.some((c) => c.type === ConditionType.Ready && c.status === 'True') === true;
}

/** 0 when every policy is ready, else 1 (a Conflict policy is never ready: delete one). */
export function statusExitCode(policies: readonly AuthPolicy[]): number {
  return policies.every(isReady) ? EXIT_OK : EXIT_ACTION;
}

/** kubectl's AGE (apimachinery duration.HumanDuration): 45s, 3m20s, 2h5m, 3d4h. */
export function humanAge(from: string | undefined, now: Date): string {
  const ms = from === undefined ? Number.NaN : now.getTime() - Date.parse(from);
  if (Number.isNaN(ms)) return '<unknown>';
  const s = Math.trunc(ms / 1000); // Go's int(d.Seconds())
  if (s < -1) return '<invalid>';
  if (s < 120) return `${Math.max(s, 0)}s`;
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  const two = (big: number, unit: string, small: number, smallUnit: string): string => `${big}${unit}${small ? `${small}${smallUnit}` : ''}`;
  if (m < 10) return two(m, 'm', s % 60, 's');
  if (m < 180) return `${m}m`;
  if (h < 8) return two(h, 'h', m % 60, 'm');
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return two(d, 'd', h % 24, 'h');
  if (h < 24 * 365 * 2) return `${d}d`;
  if (h < 24 * 365 * 8) return two(Math.floor(d / 365), 'y', d % 365, 'd');
  return `${Math.floor(d / 365)}y`;
}

function pick(summary: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), summary);
}

/** The human view of one AuthPolicy: generations, conditions (Ready first), then a line per area. */
export function formatPolicy(policy: AuthPolicy, now: Date): string {
  const status = policy.status;
  const stale = staleness(policy);
  const lines = [
    `AuthPolicy ${policy.metadata.name}   generation ${policy.metadata.generation ?? '-'}, ` +
      `observed ${status?.observedGeneration ?? '-'}${stale ? `: ${stale}` : ''}`,
  ];
  const rank = (c: Condition): number => (CONDITION_ORDER.includes(c.type) ? CONDITION_ORDER.indexOf(c.type) : CONDITION_ORDER.length);
  const conditions = [...(status?.conditions ?? [])].sort((a, b) => rank(a) - rank(b) || a.type.localeCompare(b.type));
  if (conditions.length) {
    lines.push(
      '',
      ...columns([
        ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
        ...conditions.map((c) => [c.type, c.status, c.reason, humanAge(c.lastTransitionTime, now), c.message.replace(/\s+/g, ' ')]),
      ]),
    );
  }
  const areas = Object.entries(SUMMARY_FIELDS).flatMap(([area, fields]) => {
    const summary = (status as Record<string, unknown> | undefined)?.[area];
    if (typeof summary !== 'object' || summary === null) return [];
    const parts = fields
      .map((f) => [f, pick(summary as Record<string, unknown>, f)] as const)
      .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
      .map(([f, v]) => `${f}=${String(v)}`);
    return parts.length ? [[area, parts.join(' ')]] : [];
  });
  if (areas.length) lines.push('', ...columns([['AREA', 'SUMMARY'], ...areas]));
  return lines.join('\n');
}

/** The whole table output, ending with the verdict the exit code carries. */
export function formatStatus(policies: readonly AuthPolicy[], now: Date): string {
  const code = statusExitCode(policies);
  return [...policies.map((p) => formatPolicy(p, now)), `${code === EXIT_OK ? 'ready' : 'not ready'} (exit ${code})`].join('\n\n');
}

/** The machine view (-o json|yaml): per policy the verdict, the conditions and each area's summary. */
export function statusDocument(policies: readonly AuthPolicy[]): Record<string, unknown> {
  return {
    exitCode: statusExitCode(policies),
    policies: policies.map((p) => {
      const { observedGeneration, conditions, ...areas } = p.status ?? {};
      return {
        name: p.metadata.name,
        generation: p.metadata.generation,
        observedGeneration,
        observed: staleness(p) === undefined,
        ready: isReady(p),
        conditions: conditions ?? [],
        ...areas,
      };
    }),
  };
}

/**
 * Retries while the API server says when to (Retry-After), as client-go does: a
 * 429 "storage is (re)initializing" follows a new CRD for a moment. A few tries.
 */
async function honouringRetryAfter<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      const wait = retryAfterMs(err);
      if (wait === undefined || attempt >= 5) throw err;
      await sleep(Math.min(wait, 2000), signal);
    }
  }
}

async function readPolicies(client: KubeClient, name: string | undefined, signal: AbortSignal): Promise<AuthPolicy[]> {
  try {
    if (name) return [await honouringRetryAfter(() => client.get<AuthPolicy>(objectPath(Resources.authPolicies, name), { signal }), signal)];
    const list = await honouringRetryAfter(() => client.list<{ items: AuthPolicy[] }>(collectionPath(Resources.authPolicies), {}, signal), signal);
    if (list.items.length === 0) throw new Error(`no AuthPolicy found: apply one, e.g. ${SAMPLE}`);
    return list.items;
  } catch (err) {
    if (isApiMissing(err) || (isNotFound(err) && !name)) {
      throw new Error(
        `the AuthPolicy API (authpolicies.authpolicy.io) is not installed${name ? `, so there is no authpolicy ${name}` : ''}: ` +
          'kubectl apply --server-side -k config/default (or config/crd)',
        { cause: err },
      );
    }
    if (isNotFound(err))
      throw new Error(`authpolicy ${name ?? ''} not found: list them with kubectl get authpolicies, or apply one, e.g. ${SAMPLE}`, { cause: err });
    if (isForbidden(err))
      throw new Error(`permission denied: reading authpolicies.authpolicy.io needs get and list on them: ${describeError(err)}`, { cause: err });
    throw err;
  }
}

/** Reads the AuthPolicies (or --name) and prints them; returns the exit code. */
export async function status(opts: StatusOptions): Promise<number> {
  let policies: AuthPolicy[];
  let client: KubeClient | undefined;
  try {
    const timeoutMs = parseTimeout(opts.requestTimeout ?? opts.timeout ?? '30s', opts.requestTimeout === undefined ? '--timeout' : '--request-timeout');
    const opened = KubeClient.fromOptions({ kubeconfig: opts.kubeconfig, context: opts.context });
    client = opened;
    policies = await withDeadline(timeoutMs, opened.server, (signal) => readPolicies(opened, opts.name, signal));
  } catch (err) {
    console.error(`status: ${client ? shortError(err, client.server) : describeError(err)}`);
    return EXIT_UNCHECKED;
  } finally {
    client?.close();
  }
  if (opts.output === 'json') console.log(JSON.stringify(statusDocument(policies), null, 2));
  else if (opts.output === 'yaml') process.stdout.write(stringify(statusDocument(policies)));
  else console.log(formatStatus(policies, new Date()));
  return statusExitCode(policies);
}

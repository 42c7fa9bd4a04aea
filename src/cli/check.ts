// `check`: a read-only, one-shot diagnosis of the cluster against a policy (a
// file, a named AuthPolicy, or the defaults), using the reconcilers' own observe
// and plan code. Exit 0: healthy; 1: something needs action; 2: could not check.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { resolveSpec } from '../api/defaults.ts';
import { API_VERSION, KIND, type AuthPolicy } from '../api/types.ts';
import type { AreaReport, Finding } from '../areas/area.ts';
import { KubeClient } from '../kube/client.ts';
import { describeError, isApiMissing, isForbidden, isNotFound } from '../kube/errors.ts';
import { objectPath, Resources } from '../kube/paths.ts';
import { createLogger } from '../runtime/log.ts';
import { allAreas } from '../policy/areas.ts';
import { CacheSet } from '../policy/caches.ts';
import { evaluateAreas } from '../policy/reconciler.ts';
import { columns } from './columns.ts';
import { leftOf, parseTimeout, shortError, withDeadline } from './deadline.ts';

export interface CheckOptions {
  kubeconfig?: string;
  context?: string;
  file?: string;
  name?: string;
  output: 'table' | 'json';
  timeout: string;
}

export const EXIT_OK = 0;
export const EXIT_ACTION = 1;
export const EXIT_UNCHECKED = 2;

/** Reads the policy to check against: a manifest file, a named AuthPolicy, or an empty (all defaults) one. */
async function loadPolicy(client: KubeClient, opts: CheckOptions, signal: AbortSignal): Promise<AuthPolicy> {
  if (opts.file) {
    const text = await readFile(opts.file, 'utf8').catch((err: unknown) => { throw new Error(`cannot read policy file ${opts.file}: ${describeError(err)}`, { cause: err }); });
    const docs = text.split(/^---$/m).map((d) => parse(d) as unknown).filter((d): d is AuthPolicy => typeof d === 'object' && d !== null && (d as { kind?: string }).kind === KIND);
    const doc = docs[0];
    if (!doc) throw new Error(`${opts.file} holds no ${KIND} document (apiVersion ${API_VERSION}, kind ${KIND})`);
    resolveSpec(doc.spec); // validate now, naming the field
    return { ...doc, metadata: { ...doc.metadata, name: doc.metadata.name } };
  }
  if (opts.name) {
    try {
      return await client.get<AuthPolicy>(objectPath(Resources.authPolicies, opts.name), { signal });
    } catch (err) {
      if (isApiMissing(err)) throw new Error(`the AuthPolicy CRD (authpolicies.authpolicy.io) is not installed, so there is no authpolicy ${opts.name}: kubectl apply --server-side -k config/crd (or config/default)`, { cause: err });
      if (isNotFound(err)) throw new Error(`authpolicy ${opts.name} not found: list them with kubectl get authpolicies, or check without --name to use the defaults`, { cause: err });
      throw err;
    }
  }
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name: '(defaults)' }, spec: {} };
}

function exitCodeOf(reports: Record<string, AreaReport>): number {
  const findings = Object.values(reports).flatMap((r) => r.findings);
  if (findings.some((f) => f.health === 'unknown')) return EXIT_UNCHECKED;
  if (findings.some((f) => f.health === 'action')) return EXIT_ACTION;
  return EXIT_OK;
}

function table(policy: AuthPolicy, reports: Record<string, AreaReport>): string {
  const lines = [`AuthPolicy ${policy.metadata.name}`, ''];
  const rows: string[][] = [['CONDITION', 'STATUS', 'REASON', 'MESSAGE']];
  for (const r of Object.values(reports)) for (const c of r.conditions) rows.push([c.type, c.status, c.reason, c.message]);
  lines.push(...columns(rows, '  '));
  const findings: Finding[] = Object.values(reports).flatMap((r) => r.findings).filter((f) => f.health !== 'ok');
  if (findings.length) {
    lines.push('', 'FINDINGS');
    for (const f of findings) lines.push(`  [${f.health === 'action' ? 'ACTION' : 'UNKNOWN'}] ${f.subject}: ${f.message}`);
  }
  return lines.join('\n');
}

export async function check(opts: CheckOptions): Promise<number> {
  const log = createLogger('error');
  let client: KubeClient;
  try {
    client = KubeClient.fromOptions({ kubeconfig: opts.kubeconfig, context: opts.context });
  } catch (err) {
    console.error(`check: ${describeError(err)}`);
    return EXIT_UNCHECKED;
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseTimeout(opts.timeout, '--timeout');
  } catch (err) {
    console.error(`check: ${describeError(err)}`);
    return EXIT_UNCHECKED;
  }
  const caches = new CacheSet(client, log);
  const areas = allAreas({ client, namespace: process.env.POD_NAMESPACE ?? 'authpolicy-system' });
  for (const area of areas) for (const spec of area.caches) caches.add(spec);
  try {
    // Everything below ends at the deadline, even against a server that accepts and never answers.
    const { policy, reports } = await withDeadline(timeoutMs, client.server, async (signal) => {
      // One cheap request first: an unreachable server is one short error, at once.
      await client.get('/version', { signal, ...(timeoutMs > 0 ? { timeoutMs: leftOf(timeoutMs) } : {}) });
      const policy = await loadPolicy(client, opts, signal);
      caches.start();
      // Each cache syncs, or fails in a way waiting will not fix (403), or the deadline nears
      // (a quarter of what is left, at most 2 s, is kept for the areas): an area whose caches did
      // not sync reports Unknown saying why; the others are checked.
      const left = leftOf(timeoutMs);
      await caches.settle(timeoutMs > 0 ? left - Math.min(2000, left / 4) : 2 ** 31 - 1, signal);
      const { reports } = await evaluateAreas(policy, { client, caches, areas, log, events: undefined }, 'check', signal, log);
      return { policy, reports };
    });
    const code = exitCodeOf(reports);
    if (opts.output === 'json') {
      console.log(JSON.stringify({ policy: policy.metadata.name, exitCode: code, areas: reports }, null, 2));
    } else {
      console.log(table(policy, reports));
      console.log(`\n${code === EXIT_OK ? 'healthy' : code === EXIT_ACTION ? 'needs action' : 'could not check everything'} (exit ${code})`);
    }
    return code;
  } catch (err) {
    console.error(`check: ${isForbidden(err) ? 'permission denied: ' : ''}${shortError(err, client.server)}`);
    return EXIT_UNCHECKED;
  } finally {
    await caches.stop();
    client.close();
  }
}

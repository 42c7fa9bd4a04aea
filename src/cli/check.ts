// `check`: a read-only, one-shot diagnosis of the cluster against a policy (a
// file, a named AuthPolicy, or the defaults), using the reconcilers' own observe
// and plan code. Exit 0: healthy; 1: something needs action; 2: could not check.
import { readFile } from 'node:fs/promises';
import { parse, parseAllDocuments } from 'yaml';
import { resolveSpec } from '../api/defaults.ts';
import { API_VERSION, KIND, VERSION, type AuthPolicy } from '../api/types.ts';
import { typeHints, validateAuthPolicy, type SchemaNode } from '../api/validate.ts';
import type { AreaReport, Finding } from '../areas/area.ts';
import { KubeClient } from '../kube/client.ts';
import { describeError, isApiMissing, isForbidden, isNotFound, KubeApiError } from '../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../kube/paths.ts';
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

/** The CRD shipped with the package (crds/, beside src/ and dist/): the one source of the schema. */
const CRD_FILE = new URL('../../crds/authpolicy.yaml', import.meta.url);

/** The AuthPolicy schema from the shipped CRD. */
export async function shippedSchema(): Promise<SchemaNode> {
  const crd = parse(await readFile(CRD_FILE, 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[] } };
  const version = crd.spec.versions.find((v) => v.name === VERSION);
  if (!version) throw new Error(`${CRD_FILE.pathname} has no version ${VERSION}`);
  return version.schema.openAPIV3Schema;
}

/** A manifest the API server (or the shipped schema) refuses: check exits 2 and names each field. */
export class InvalidManifestError extends Error {}

/** The AuthPolicy document of a manifest file; every error names the file. */
export function policyDocument(file: string, text: string): unknown {
  const docs = parseAllDocuments(text);
  const broken = docs.find((d) => d.errors.length > 0);
  if (broken) throw new InvalidManifestError(`${file} is not valid YAML: ${broken.errors[0]?.message.split('\n')[0] ?? ''}`);
  const values = docs.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
  const policies = values.filter((v) => typeof v === 'object' && (v as { kind?: unknown }).kind === KIND);
  if (policies.length > 1) throw new InvalidManifestError(`${file} holds ${policies.length} ${KIND} documents: check one at a time`);
  if (policies[0] !== undefined) return policies[0];
  const lone = values.length === 1 ? values[0] : undefined;
  if (lone !== undefined && (typeof lone !== 'object' || Array.isArray(lone)))
    throw new InvalidManifestError(
      `${file} holds ${Array.isArray(lone) ? 'a YAML list' : `a single ${typeof lone}`}, not an ${KIND} document (a mapping with apiVersion: ${API_VERSION} and kind: ${KIND})`,
    );
  if (lone !== undefined) return lone; // a lone document: validation names what is wrong with it
  const kinds = values.map((v) => {
    const kind = typeof v === 'object' ? (v as { kind?: unknown }).kind : undefined;
    return typeof kind === 'string' ? kind : '(no kind)';
  });
  throw new InvalidManifestError(
    `${file} holds no ${KIND} document (apiVersion ${API_VERSION}, kind ${KIND})${kinds.length ? `; found: ${kinds.join(', ')}` : ''}`,
  );
}

/**
 * Validates a manifest exactly as the API server would: a server-side dry-run
 * create (nothing is persisted) when the CRD is installed, which also fills the
 * defaults; otherwise the shipped CRD's schema (src/api/validate.ts). Returns the
 * policy with defaults filled; throws InvalidManifestError naming every field.
 */
export async function validateManifest(
  client: KubeClient | undefined,
  file: string,
  manifest: unknown,
  signal?: AbortSignal,
): Promise<{ policy: AuthPolicy; by: 'server' | 'schema' }> {
  const schema = await shippedSchema();
  const offline = validateAuthPolicy(manifest, schema);
  const hints = typeHints(manifest, schema)
    .map((h) => `\n  hint: ${h}`)
    .join('');
  const envelope = offline.errors.filter((e) => /^(apiVersion|kind|metadata)[.:]/.test(e));
  if (envelope.length) throw new InvalidManifestError(`${file} is not a valid ${KIND}:\n  ${envelope.join('\n  ')}`);
  const name = (manifest as AuthPolicy).metadata.name;
  if (client) {
    try {
      // A dry-run create of the file's content alone (under a generated name, so a stored policy of the
      // same name neither collides nor merges in): the API server defaults and validates it, CEL included.
      const { name: _name, ...metadata } = (manifest as AuthPolicy).metadata;
      const stored = await client.request<AuthPolicy>('POST', collectionPath(Resources.authPolicies), {
        body: { ...(manifest as AuthPolicy), metadata: { ...metadata, generateName: 'authpolicy-check-' } },
        query: { dryRun: 'All', fieldManager: 'authpolicy-check', fieldValidation: 'Strict' },
        ...(signal ? { signal } : {}),
      });
      return { policy: { ...stored, metadata: { ...stored.metadata, name }, status: undefined }, by: 'server' };
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 422 || err.status === 400)) {
        const causes = (err.details?.causes ?? []).map((c) => `${c.field ? `${c.field}: ` : ''}${c.message ?? ''}`);
        const message = err.message.replace(/^\S+ \S+: \d+ \w+: /, '');
        throw new InvalidManifestError(`${file} is refused by the API server: ${causes.length ? `\n  ${causes.join('\n  ')}` : message}${hints}`, {
          cause: err,
        });
      }
      // 404: the CRD is not installed; no answer or no permission: fall back to the shipped schema.
    }
  }
  if (offline.errors.length)
    throw new InvalidManifestError(
      `${file} is not a valid ${KIND} (validated against the shipped CRD schema, crds/authpolicy.yaml):\n  ${offline.errors.join('\n  ')}${hints}`,
    );
  return { policy: offline.defaulted as AuthPolicy, by: 'schema' };
}

/** Reads the policy to check against: a manifest file, a named AuthPolicy, or an empty (all defaults) one. */
async function loadPolicy(client: KubeClient, opts: CheckOptions, signal: AbortSignal): Promise<AuthPolicy> {
  if (opts.file) {
    const file = opts.file;
    const text = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new InvalidManifestError(
        `cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeError(err)}`,
        { cause: err },
      );
    });
    const { policy } = await validateManifest(client, file, policyDocument(file, text), signal);
    resolveSpec(policy.spec); // the operator's own reading of it (throws naming the field)
    return policy;
  }
  if (opts.name) {
    try {
      return await client.get<AuthPolicy>(objectPath(Resources.authPolicies, opts.name), { signal });
    } catch (err) {
      if (isApiMissing(err))
        throw new Error(
          `the AuthPolicy CRD (authpolicies.authpolicy.io) is not installed, so there is no authpolicy ${opts.name}: ` +
            'kubectl apply --server-side -k config/crd (or config/default)',
          { cause: err },
        );
      if (isNotFound(err))
        throw new Error(`authpolicy ${opts.name} not found: list them with kubectl get authpolicies, or check without --name to use the defaults`, {
          cause: err,
        });
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

/** A finding as one line: its subject once, even when the message starts with it too. */
export function findingLine(f: Finding): string {
  const bare = f.subject.replace(/^\S+ /, ''); // "secret a/b" -> "a/b"
  const message = [f.subject, bare].reduce((m, s) => (m.startsWith(`${s}: `) ? m.slice(s.length + 2) : m), f.message);
  return `${f.subject}: ${message}`;
}

export function table(policy: AuthPolicy, reports: Record<string, AreaReport>): string {
  const lines = [`AuthPolicy ${policy.metadata.name}`, ''];
  const rows: string[][] = [['CONDITION', 'STATUS', 'REASON', 'MESSAGE']];
  for (const r of Object.values(reports)) for (const c of r.conditions) rows.push([c.type, c.status, c.reason, c.message]);
  lines.push(...columns(rows, '  '));
  const findings: Finding[] = Object.values(reports)
    .flatMap((r) => r.findings)
    .filter((f) => f.health !== 'ok');
  if (findings.length) {
    lines.push('', 'FINDINGS');
    for (const f of findings) lines.push(`  [${f.health === 'action' ? 'ACTION' : 'UNKNOWN'}] ${findingLine(f)}`);
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
  for (const area of areas) for (const spec of [...area.caches, ...(area.optionalCaches ?? [])]) caches.add(spec);
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
    // A refused manifest names every bad field, one per line; anything else is one short line.
    if (err instanceof InvalidManifestError) console.error(`check: ${err.message}`);
    else console.error(`check: ${isForbidden(err) ? 'permission denied: ' : ''}${shortError(err, client.server)}`);
    return EXIT_UNCHECKED;
  } finally {
    await caches.stop();
    client.close();
  }
}

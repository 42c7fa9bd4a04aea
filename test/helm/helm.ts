// Helm v4 for the tests: built from the Go module proxy by build-helm.sh
// (cached in ~/.cache/authpolicy-operator/helm/<hash>), or $AUTHPOLICY_HELM.
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const CHART = fileURLToPath(new URL('../../charts/authpolicy-operator', import.meta.url));
let cached: string | undefined;

/** The helm binary's path (building it first if needed: minutes the first time, instant after). */
export function helmBinary(): string {
  if (cached) return cached;
  if (process.env.AUTHPOLICY_HELM) return (cached = process.env.AUTHPOLICY_HELM);
  const script = fileURLToPath(new URL('./build-helm.sh', import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = out.trim().split('\n').pop();
  if (!bin) throw new Error(`${script} printed no binary path`);
  return (cached = bin);
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws (the caller asserts on code and output). */
export function helm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(helmBinary(), args, { maxBuffer: 64 << 20, timeout: 5 * 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function objects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

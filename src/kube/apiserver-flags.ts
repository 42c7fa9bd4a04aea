// kube-apiserver flags, where the cluster lets us see them: a kubeadm-style
// static pod `kube-apiserver-<node>` in kube-system, found by its command (as
// kubescape does). Managed control planes (EKS, GKE, AKS) hide them: then every
// flag is reported unknown, never guessed.
import type { KubeClient } from './client.ts';
import { collectionPath, Resources } from './paths.ts';

export interface ApiserverFlags {
  /** where the flags came from */
  source: 'staticPod' | 'unknown';
  podName?: string;
  /** --authorization-mode, split; undefined when not visible or when --authorization-config is used */
  authorizationModes?: string[];
  /** --authorization-config (structured authorization, KEP-3221): authorizers are named in a file we cannot read */
  authorizationConfigFile?: string;
  /** --enable-admission-plugins minus --disable-admission-plugins (NodeRestriction is off by default) */
  admissionPlugins?: string[];
  extendTokenExpiration?: boolean;
  maxTokenExpiration?: string;
  /** --service-account-signing-endpoint: tokens are signed by an external signer (KEP-740) */
  signingEndpoint?: string;
}

/** Parses a kube-apiserver command line (command + args) into the flags we report. */
export function parseApiserverFlags(argv: readonly string[]): Omit<ApiserverFlags, 'source' | 'podName'> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) continue;
    let value = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      value = next !== undefined && !next.startsWith('-') ? next : 'true';
      if (value === next) i++;
    }
    values.set(m[1], value);
  }
  const list = (name: string): string[] | undefined =>
    values
      .get(name)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const out: Omit<ApiserverFlags, 'source' | 'podName'> = {};
  const config = values.get('authorization-config');
  if (config) out.authorizationConfigFile = config;
  else out.authorizationModes = list('authorization-mode') ?? ['AlwaysAllow'];
  // The API server refuses a plugin named in both lists; a disabled one is off either way.
  const disabled = new Set(list('disable-admission-plugins') ?? []);
  out.admissionPlugins = (list('enable-admission-plugins') ?? []).filter((p) => !disabled.has(p));
  const extend = values.get('service-account-extend-token-expiration');
  out.extendTokenExpiration = extend === undefined ? true : extend !== 'false';
  const max = values.get('service-account-max-token-expiration');
  if (max) out.maxTokenExpiration = max;
  const signer = values.get('service-account-signing-endpoint');
  if (signer) out.signingEndpoint = signer;
  return out;
}

interface PodLike {
  metadata: { name: string };
  spec?: { containers?: { command?: string[]; args?: string[] }[] };
}

/**
 * The flags of the first kube-apiserver static pod in kube-system, listed at most every maxAgeMs per
 * client and shared by every area that asks: one per process, made at wiring time (src/policy/areas.ts),
 * so the memo is a dependency the areas are given, not module state. A failed read is not kept.
 */
export class ApiserverFlagsReader {
  private readonly recent = new WeakMap<KubeClient, { at: number; flags: Promise<ApiserverFlags> }>();

  private readonly maxAgeMs: number;

  constructor(maxAgeMs = 30_000) {
    this.maxAgeMs = maxAgeMs;
  }

  /** nowMs: the caller's time (ctx.now()). */
  read(client: KubeClient, nowMs: number): Promise<ApiserverFlags> {
    const hit = this.recent.get(client);
    if (hit && nowMs - hit.at < this.maxAgeMs) return hit.flags;
    const flags = readApiserverFlags(client);
    this.recent.set(client, { at: nowMs, flags });
    flags.catch(() => {
      if (this.recent.get(client)?.flags === flags) this.recent.delete(client);
    });
    return flags;
  }
}

async function readApiserverFlags(client: KubeClient): Promise<ApiserverFlags> {
  const pods = await client.list<{ items?: PodLike[] }>(collectionPath(Resources.pods, 'kube-system'));
  for (const pod of pods.items ?? []) {
    for (const c of pod.spec?.containers ?? []) {
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      if (argv.some((a) => /(^|\/)kube-apiserver$/.test(a))) {
        return { source: 'staticPod', podName: pod.metadata.name, ...parseApiserverFlags(argv) };
      }
    }
  }
  return { source: 'unknown' };
}

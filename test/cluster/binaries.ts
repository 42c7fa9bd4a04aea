import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding kube-apiserver, kube-controller-manager, kube-scheduler,
 * kubectl, etcd and kwok: $AUTHPOLICY_BIN_DIR, or the cache that
 * build-binaries.sh fills (building first if needed; seconds when cached).
 */
export function binDir(): string {
  if (cached) return cached;
  const fromEnv = process.env.AUTHPOLICY_BIN_DIR;
  if (fromEnv) return (cached = fromEnv);
  const script = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error(`${script} printed no binary folder`);
  return (cached = dir);
}

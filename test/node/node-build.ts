import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder build-node.sh fills (bin/{kubelet,containerd,containerd-shim-runc-v2,ctr},
 * cni/loopback, images/{pause,tokencall}.tar): $AUTHPOLICY_NODE_DIR, or the cache,
 * building first if needed (minutes the first time, instant when cached).
 */
export function nodeBuildDir(): string {
  if (cached) return cached;
  const fromEnv = process.env.AUTHPOLICY_NODE_DIR;
  if (fromEnv) return (cached = fromEnv);
  const script = fileURLToPath(new URL('./build-node.sh', import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error(`${script} printed no folder`);
  return (cached = dir);
}

/** Debian's runc (build-node.sh installs it when missing). */
export function runcPath(): string {
  return execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim();
}

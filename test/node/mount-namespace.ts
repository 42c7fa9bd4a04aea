// The real node's own mount namespace. The kubelet and containerd still write a
// few paths their configuration cannot move (/var/lib/kubelet/device-plugins,
// /var/log/containers, containerd's shim sockets under /run/containerd/s), and
// the kubelet sets machine-wide sysctls (vm.overcommit_memory, kernel.panic,
// …: pkg/kubelet/cm/container_manager_linux.go setupKernelTunables). Inside this
// namespace /run, /var/lib and /var/log are fresh tmpfs mounts and those sysctl
// files read as the values the kubelet wants, so it changes nothing outside; every
// mount made in here (Secret volumes, container root filesystems) goes with the
// namespace when its last process ends. Containers get their own mount namespace
// (and a fresh /proc) from runc as usual.
import { readdirSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../cluster/processes.ts';
import { waitFor } from '../cluster/wait.ts';

/** What the kubelet would write (KernelTunableModify): each file reads as this inside the namespace. */
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

export interface NodeNamespace {
  /** the process holding the namespace open (unshare, then sleep) */
  holder: ManagedProcess;
  /** `/proc/<pid>/ns/mnt`'s link text, e.g. mnt:[4026532801] */
  id: string;
  /** the command line that runs `command` inside the namespace (nsenter execs it: the pid is the command's) */
  enter(command: string, args: string[]): [string, string[]];
  /** every process in the namespace (the holder, containerd, the kubelet, the runc shims) */
  processes(): number[];
  /** SIGKILLs every process left in the namespace and waits until none is; returns those that would not end */
  stop(): Promise<number[]>;
}

/** Starts the holder and waits until its mounts are in place. */
export async function startNodeNamespace(dir: string): Promise<NodeNamespace> {
  const sysctlDir = join(dir, 'sysctl');
  mkdirSync(sysctlDir, { recursive: true });
  const binds = Object.entries(KUBELET_SYSCTLS).map(([key, value]) => {
    const file = join(sysctlDir, key.replaceAll('/', '.'));
    writeFileSync(file, `${value}\n`);
    return `mount -n --bind ${file} /proc/sys/${key}`;
  });
  // mount -n: util-linux would otherwise keep /run/mount/utab, and the first mount happens before /run is the namespace's own.
  const script = [
    'set -eu',
    ...['/run', '/var/lib', '/var/log'].map((p) => `mount -n -t tmpfs -o mode=0755,size=64m authpolicy-node ${p}`),
    ...binds,
    'echo namespace-ready',
    'exec sleep infinity',
  ].join('\n');
  const holder = startProcess('node-namespace', 'unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script], join(dir, 'namespace.log'));
  await waitFor(
    'the node mount namespace (unshare --mount) to be ready',
    async () => {
      if (holder.child.exitCode !== null) throw new Error(`unshare exited ${holder.child.exitCode}: ${await holder.tail(5)}`);
      return (await holder.tail(5)).includes('namespace-ready');
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  const pid = holder.child.pid ?? 0;
  const id = readlinkSync(`/proc/${pid}/ns/mnt`);
  if (id === readlinkSync('/proc/self/ns/mnt')) throw new Error('unshare --mount did not give the node a mount namespace of its own');
  const processes = (): number[] => {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/ns/mnt`) === id) pids.push(Number(entry));
      } catch {
        /* ended meanwhile, or a kernel thread */
      }
    }
    return pids;
  };
  return {
    holder,
    id,
    enter: (command, args) => ['nsenter', [`--target=${pid}`, '--mount', '--', command, ...args]],
    processes,
    async stop() {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const left = processes();
        if (left.length === 0 || Date.now() > deadline) {
          await holder.stop(100);
          return left;
        }
        for (const p of left) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

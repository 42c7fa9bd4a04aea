// A real node beside the kwok ones: a kubelet built from the control plane's own
// k8s.io/kubernetes module, containerd with runc (Debian's) running real
// containers, registered with a real system:node:<name> client certificate.
// Everything it writes stays in its own directory, its own mount namespace
// (mount-namespace.ts) and its own cgroup tree (cgroups.ts); stop() ends every
// process, and says what, if anything, it could not remove.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Cluster } from '../cluster/harness.ts';
import { freePort } from '../cluster/ports.ts';
import { startProcess, type ManagedProcess } from '../cluster/processes.ts';
import { waitFor } from '../cluster/wait.ts';
import { cgroupDirs, cgroupProcesses, createCgroupRoot, removeCgroupRoot } from './cgroups.ts';
import { startNodeNamespace, type NodeNamespace } from './mount-namespace.ts';
import { nodeBuildDir, runcPath } from './node-build.ts';
import { cniConfig, containerdConfig, kubeletConfig, PAUSE_IMAGE, TOKENCALL_IMAGE, type NodePaths } from './node-config.ts';

const run = promisify(execFile);

export { PAUSE_IMAGE, TOKENCALL_IMAGE };

export interface RealNodeOptions {
  /** the Node's name (default real-<random>) */
  name?: string;
  /** wait until the Node is Ready and lift its not-ready taint (default true; false when the kubelet is expected to be forbidden) */
  waitReady?: boolean;
  /** extra Node labels the kubelet registers with */
  labels?: Record<string, string>;
}

/** One line a container wrote, as the runtime logged it (CRI log format). */
export interface ContainerLogLine {
  /** when the runtime received it */
  time: Date;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** What stop() could not clean up: empty lists when the node left nothing behind. */
export interface Leftovers {
  /** processes still in the node's mount namespace or its cgroups */
  processes: number[];
  /** cgroup directories still under the node's cgroup root */
  cgroups: string[];
  /** mounts in the test's own mount namespace under the node's directory */
  mounts: string[];
}

export interface RealNode {
  name: string;
  dir: string;
  /** the kubelet's --root-dir (pods' volumes are under pods/<uid>/volumes) */
  kubeletRoot: string;
  /** the node's cgroup root, e.g. /authpolicy-node-real-ab12-4242 */
  cgroupRoot: string;
  /** the node's mount namespace, as /proc/<pid>/ns/mnt names it */
  mountNamespace: string;
  kubelet: ManagedProcess;
  containerd: ManagedProcess;
  /** processes in the node's mount namespace now (holder, containerd, kubelet, shims) */
  processes(): number[];
  /** the lines a Pod's container wrote, across its restarts, oldest first (read from the runtime's log files) */
  containerLog(namespace: string, pod: string, container: string): Promise<ContainerLogLine[]>;
  /** the last lines of the kubelet's log, for failure messages */
  kubeletLog(lines?: number): Promise<string>;
  /** waits until the Node reports Ready */
  waitReady(timeoutMs?: number): Promise<void>;
  /** stops the kubelet, the containers, containerd and the namespace; removes the cgroups and the directory */
  stop(): Promise<Leftovers>;
}

/** Adds a real node to the cluster; returns once it is Ready (unless opts.waitReady is false). Seconds when the build is cached. */
export async function addRealNode(cluster: Cluster, opts: RealNodeOptions = {}): Promise<RealNode> {
  const build = nodeBuildDir();
  const name = opts.name ?? `real-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `authpolicy-node-${name}-`));
  const cgroupName = `authpolicy-node-${name}-${process.pid}`;
  const paths: NodePaths = {
    dir,
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    runcRoot: join(dir, 'runc'),
    cniConfDir: join(dir, 'cni'),
    cniBinDir: join(build, 'cni'),
    kubeletRoot: join(dir, 'kubelet'),
    podLogs: join(dir, 'pod-logs'),
    runc: runcPath(),
  };
  for (const d of [paths.containerdRoot, paths.containerdState, paths.runcRoot, paths.cniConfDir, paths.kubeletRoot, paths.podLogs, join(dir, 'certs')]) {
    await mkdir(d, { recursive: true });
  }
  await writeFile(join(dir, 'containerd.toml'), containerdConfig(paths));
  await writeFile(join(paths.cniConfDir, '10-loopback.conflist'), cniConfig());
  const [port, healthzPort] = await Promise.all([freePort(), freePort()]);
  await writeFile(
    join(dir, 'kubelet.yaml'),
    kubeletConfig({
      containerdSocket: paths.containerdSocket,
      cgroupRoot: `/${cgroupName}`,
      port,
      healthzPort,
      clientCAFile: cluster.caFile,
      podLogs: paths.podLogs,
    }),
  );

  let ns: NodeNamespace | undefined;
  const started: ManagedProcess[] = [];
  // If the test process dies before stop(), leave no container or cgroup behind (processes.ts kills the direct children).
  const killNow = (): void => {
    for (const pid of [...cgroupProcesses(cgroupName), ...(ns?.processes() ?? [])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', killNow);

  const teardown = async (): Promise<Leftovers> => {
    process.off('exit', killNow);
    // The kubelet first (it would restart what is killed), then the containers, then containerd, its shims and the namespace.
    await started.find((p) => p.name === `kubelet-${name}`)?.stop(10_000);
    const cgroupsLeft = await removeCgroupRoot(cgroupName);
    for (const p of started) await p.stop(5_000);
    const nsLeft = (await ns?.stop()) ?? [];
    const cgroupsLeftAfter = cgroupsLeft.length ? await removeCgroupRoot(cgroupName, 5_000) : [];
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith(dir));
    const processes = [...nsLeft, ...cgroupProcesses(cgroupName)];
    if (!process.env.KEEP_CLUSTER && mounts.length === 0 && processes.length === 0) rmSync(dir, { recursive: true, force: true });
    return { processes, cgroups: cgroupDirs(cgroupName).length ? cgroupDirs(cgroupName) : cgroupsLeftAfter, mounts };
  };

  try {
    createCgroupRoot(cgroupName);
    ns = await startNodeNamespace(dir);
    const inNamespace = (component: string, command: string, args: string[]): ManagedProcess => {
      const [cmd, argv] = (ns as NodeNamespace).enter(command, args);
      // containerd finds its shim (containerd-shim-runc-v2) on PATH.
      const p = startProcess(`${component}-${name}`, cmd, argv, join(dir, `${component}.log`), {
        ...process.env,
        PATH: `${join(build, 'bin')}:${process.env.PATH ?? ''}`,
      });
      started.push(p);
      return p;
    };
    const containerd = inNamespace('containerd', join(build, 'bin', 'containerd'), ['--config', join(dir, 'containerd.toml')]);
    const ctr = async (args: string[]): Promise<string> => {
      const [cmd, argv] = (ns as NodeNamespace).enter(join(build, 'bin', 'ctr'), ['--address', paths.containerdSocket, '--namespace', 'k8s.io', ...args]);
      return (await run(cmd, argv, { maxBuffer: 16 << 20 })).stdout;
    };
    await waitFor(
      `containerd of node ${name} to serve ${paths.containerdSocket}`,
      async () => {
        if (containerd.child.exitCode !== null) throw new Error(`containerd exited ${containerd.child.exitCode}: ${await containerd.tail(10)}`);
        return (
          existsSync(paths.containerdSocket) &&
          (await ctr(['version']).then(
            () => true,
            () => false,
          ))
        );
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    for (const [image, tar] of [
      [PAUSE_IMAGE, 'pause.tar'],
      [TOKENCALL_IMAGE, 'tokencall.tar'],
    ] as const) {
      // --local: the client unpacks (the transfer service would want an unpack platform configured for the native snapshotter).
      await ctr(['images', 'import', '--local', '--snapshotter', 'native', '--base-name', image.replace(/:[^:/]+$/, ''), join(build, 'images', tar)]);
      if (!(await ctr(['images', 'ls', '-q'])).split('\n').includes(image)) throw new Error(`node ${name}: ctr images import of ${tar} did not give ${image}`);
    }
    const labels = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    const kubelet = inNamespace('kubelet', join(build, 'bin', 'kubelet'), [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${await cluster.nodeKubeconfig(name)}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--hostname-override=${name}`,
      ...(labels.length ? [`--node-labels=${labels.join(',')}`] : []),
      '--v=2',
    ]);

    const node: RealNode = {
      name,
      dir,
      kubeletRoot: paths.kubeletRoot,
      cgroupRoot: `/${cgroupName}`,
      mountNamespace: ns.id,
      kubelet,
      containerd,
      processes: () => ns?.processes() ?? [],
      async containerLog(namespace, pod, container) {
        const podDirs = (await readdir(paths.podLogs)).filter((d) => d.startsWith(`${namespace}_${pod}_`));
        const lines: ContainerLogLine[] = [];
        for (const podDir of podDirs) {
          const cdir = join(paths.podLogs, podDir, container);
          const files = (await readdir(cdir).catch(() => [])).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b));
          for (const f of files) {
            for (const l of (await readFile(join(cdir, f), 'utf8')).split('\n')) {
              const m = /^(\S+) (stdout|stderr) [FP] (.*)$/.exec(l);
              if (m) lines.push({ time: new Date(m[1] ?? ''), stream: m[2] as 'stdout' | 'stderr', text: m[3] ?? '' });
            }
          }
        }
        return lines;
      },
      kubeletLog: (lines) => kubelet.tail(lines),
      async waitReady(timeoutMs = 90_000) {
        await waitFor(
          `node ${name} (a real kubelet) to be Ready`,
          async () => {
            if (kubelet.child.exitCode !== null) throw new Error(`the kubelet exited ${kubelet.child.exitCode}: ${await kubelet.tail(15)}`);
            const r = await cluster.kubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
            return r.stdout === 'True';
          },
          { timeoutMs, intervalMs: 500 },
        );
        // No node-lifecycle controller runs in the harness to lift the taint every new Node gets (as addKwokNode does).
        await cluster.kubectl(['taint', 'node', name, 'node.kubernetes.io/not-ready:NoSchedule-']);
      },
      stop: teardown,
    };
    if (opts.waitReady ?? true) await node.waitReady();
    return node;
  } catch (err) {
    const logs = await Promise.all(started.map(async (p) => `--- ${p.name}\n${await p.tail(15)}`));
    const left = await teardown();
    throw new Error(`real node ${name} did not start: ${(err as Error).message}\n${logs.join('\n')}\nleft behind: ${JSON.stringify(left)}`, { cause: err });
  }
}

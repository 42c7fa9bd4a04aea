// Each operator replica under the requests and limits config/manager ships, as the kubelet would set them on
// cgroup v1: cpu.shares from requests.cpu, cpu.cfs_quota_us from limits.cpu (100 ms period) and
// memory.limit_in_bytes from limits.memory. The bench makes one cpu and one memory cgroup per replica, each
// under the bench's own cgroup of that controller with a unique name, and removes them when the replica stops or
// the bench exits (the replica's processes are killed first: a cgroup with tasks cannot be removed).
// The cpu cgroups sit in one parent per bench process with the default weight (1024), as pods sit in the
// kubelet's kubepods cgroup: cpu.shares weigh a replica against its siblings there, not against every other
// process of a shared machine (at a load of 40 on 2 cores, a bare 51-share cgroup got 1 CPU second in 3 minutes).
// kubelet: pkg/kubelet/cm/helpers_linux.go (MilliCPUToShares, MilliCPUToQuota).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { parse } from 'yaml';

export const CFS_PERIOD_US = 100_000;

export interface Resources {
  requests: { cpuMilli?: number; memoryBytes?: number };
  limits: { cpuMilli?: number; memoryBytes?: number };
}

/** "50m" → 50, "0.5" → 500, "2" → 2000 (Kubernetes CPU quantities, in millicores). */
export function cpuMilli(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const s = String(q).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) throw new Error(`CPU quantity ${s}: expected e.g. 500m or 0.5`);
  return m[2] ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** "448Mi" → 469762048, "1G" → 1e9, "1000" → 1000 (Kubernetes memory quantities, in bytes). */
export function memoryBytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const s = String(q).trim();
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(s);
  if (!m) throw new Error(`memory quantity ${s}: expected e.g. 448Mi`);
  const unit = m[2] ?? '';
  return Math.round(Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? 1));
}

/** The kubelet's MilliCPUToShares: 1024 shares a core, at least 2. */
export const sharesFor = (milli: number): number => Math.max(2, Math.floor((milli * 1024) / 1000));
/** The kubelet's MilliCPUToQuota: the share of each 100 ms period, at least 1 ms. */
export const quotaFor = (milli: number, periodUs = CFS_PERIOD_US): number => Math.max(1000, Math.floor((milli * periodUs) / 1000));

/** The operator container's requests and limits from config/manager/manager.yaml. */
export function shippedResources(manifestYaml: string): Resources {
  const doc = parse(manifestYaml) as {
    spec: { template: { spec: { containers: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] } } };
  };
  const r = doc.spec.template.spec.containers[0]?.resources ?? {};
  return {
    requests: { cpuMilli: cpuMilli(r.requests?.cpu), memoryBytes: memoryBytes(r.requests?.memory) },
    limits: { cpuMilli: cpuMilli(r.limits?.cpu), memoryBytes: memoryBytes(r.limits?.memory) },
  };
}

export interface CgroupUsage {
  /** CFS periods with runnable tasks, and how many of them hit the quota */
  nrPeriods: number;
  nrThrottled: number;
  throttledSeconds: number;
  /** memory.max_usage_in_bytes: the cgroup's peak charge (RSS and page cache) */
  memoryPeakMiB: number;
  /** times the charge hit limit_in_bytes (memory.failcnt) */
  memoryFailcnt: number;
  /** processes the kernel's OOM killer killed in this cgroup (memory.oom_control oom_kill) */
  oomKills: number;
}

/**
 * Seconds a process's threads spent runnable but waiting for a CPU (the second field of
 * /proc/<pid>/task/<tid>/schedstat, summed): what a shared machine's load cost it, beside throttling.
 */
export async function runqueueWaitSeconds(pid: number): Promise<number | undefined> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => undefined);
  if (!tasks) return undefined;
  let ns = 0;
  for (const t of tasks) ns += Number((await readFile(`/proc/${pid}/task/${t}/schedstat`, 'utf8').catch(() => '0 0')).split(' ')[1] ?? 0);
  return Math.round(ns / 1e7) / 100;
}

/** cpu.stat of cgroup v1: nr_periods, nr_throttled, throttled_time (ns). */
export function parseCpuStat(text: string): { nrPeriods: number; nrThrottled: number; throttledSeconds: number } {
  const v = (k: string): number => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { nrPeriods: v('nr_periods'), nrThrottled: v('nr_throttled'), throttledSeconds: Math.round(v('throttled_time') / 1e7) / 100 };
}

/** memory.oom_control: the oom_kill counter (Linux ≥ 4.13), 0 when absent. */
export const parseOomKills = (text: string): number => Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);

/** The bench's own cgroup of a controller, from /proc/self/cgroup ("4:memory:/a/b" → "/a/b"). */
export function ownCgroup(procSelfCgroup: string, controller: string): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (controllers?.split(',').includes(controller)) return path === '/' ? '' : path;
  }
  return undefined;
}

export interface ReplicaCgroups {
  /** the command that joins both cgroups, then execs `command args` (so every byte and cycle is charged) */
  wrap(command: string, args: string[]): { command: string; args: string[] };
  usage(): Promise<CgroupUsage>;
  /** kills what is left inside and removes both cgroups; idempotent */
  remove(): void;
  dirs: string[];
}

const live = new Set<ReplicaCgroups>();
let hooked = false;

/** Whether this machine has cgroup v1 cpu and memory controllers the bench can write (root). */
export function cgroupsAvailable(): boolean {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const mem = ownCgroup(self, 'memory');
  const cpu = ownCgroup(self, 'cpu');
  return (
    mem !== undefined &&
    cpu !== undefined &&
    existsSync(`/sys/fs/cgroup/memory${mem}/memory.limit_in_bytes`) &&
    existsSync(`/sys/fs/cgroup/cpu${cpu}/cpu.cfs_quota_us`)
  );
}

/** Makes a cpu and a memory cgroup named `name` (unique per replica and run) with the shipped resources. */
export function createReplicaCgroups(name: string, res: Resources): ReplicaCgroups {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const cpuParent = `/sys/fs/cgroup/cpu${ownCgroup(self, 'cpu') ?? ''}/authpolicy-bench-${process.pid}`;
  const cpuDir = `${cpuParent}/${name}`;
  const memDir = `/sys/fs/cgroup/memory${ownCgroup(self, 'memory') ?? ''}/${name}`;
  const dirs = [cpuDir, memDir];
  const remove = (): void => {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // a killed task leaves the cgroup when it has exited: retry for up to 2 s
      const until = Date.now() + 2000;
      for (;;) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          if (Date.now() > until)
            throw new Error(`cgroup ${dir}: could not remove it (${(err as Error).message}); remove it with rmdir once its tasks exit`, { cause: err });
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
      }
    }
    live.delete(handle);
    try {
      rmdirSync(cpuParent); // once its last replica is gone
    } catch {
      /* another replica still in it, or gone already */
    }
  };
  const handle: ReplicaCgroups = {
    dirs,
    wrap: (command, args) => ({
      command: '/bin/sh',
      args: ['-c', `echo $$ > '${cpuDir}/cgroup.procs' && echo $$ > '${memDir}/cgroup.procs' && exec "$@"`, 'sh', command, ...args],
    }),
    async usage() {
      const cpu = parseCpuStat(await readFile(`${cpuDir}/cpu.stat`, 'utf8').catch(() => ''));
      const num = async (f: string): Promise<number> => Number((await readFile(`${memDir}/${f}`, 'utf8').catch(() => '0')).trim());
      return {
        ...cpu,
        memoryPeakMiB: Math.round(((await num('memory.max_usage_in_bytes')) / 2 ** 20) * 10) / 10,
        memoryFailcnt: await num('memory.failcnt'),
        oomKills: parseOomKills(await readFile(`${memDir}/memory.oom_control`, 'utf8').catch(() => '')),
      };
    },
    remove,
  };
  try {
    mkdirSync(cpuDir, { recursive: true });
    mkdirSync(memDir);
    writeFileSync(`${cpuDir}/cpu.cfs_period_us`, String(CFS_PERIOD_US));
    if (res.requests.cpuMilli !== undefined) writeFileSync(`${cpuDir}/cpu.shares`, String(sharesFor(res.requests.cpuMilli)));
    if (res.limits.cpuMilli !== undefined) writeFileSync(`${cpuDir}/cpu.cfs_quota_us`, String(quotaFor(res.limits.cpuMilli)));
    if (res.limits.memoryBytes !== undefined) writeFileSync(`${memDir}/memory.limit_in_bytes`, String(res.limits.memoryBytes));
  } catch (err) {
    remove();
    throw new Error(
      `cgroup ${name}: could not create it under ${cpuDir} and ${memDir} (${(err as Error).message}); run the bench as root on cgroup v1, or with --no-limits`,
      { cause: err },
    );
  }
  live.add(handle);
  if (!hooked) {
    hooked = true;
    // even when the bench fails or is interrupted: no cgroup is left behind
    const cleanup = (): void => {
      for (const h of [...live]) {
        try {
          h.remove();
        } catch (err) {
          console.error((err as Error).message);
        }
      }
    };
    // (the harness turns SIGINT and SIGTERM into process.exit, so this runs then too)
    process.on('exit', cleanup);
  }
  return handle;
}

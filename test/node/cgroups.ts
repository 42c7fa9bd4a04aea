// A cgroup root of the test's own (cgroup v1, as on this machine): created in
// every mounted hierarchy before the kubelet starts (it refuses a `cgroupRoot`
// that does not exist), and at teardown emptied (its processes killed: the
// containers) and removed, deepest first, so no cgroup outlives the test.
import { readdirSync, readFileSync, rmdirSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

/** The mounted cgroup hierarchies (v1 controllers, name=systemd, and the unified v2 one in hybrid mode). */
export function hierarchies(): string[] {
  const out: string[] = [];
  for (const entry of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = entry.split(' - ');
    const mountpoint = before?.split(' ')[4];
    const fstype = after?.split(' ')[0];
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mountpoint?.startsWith(`${ROOT}/`)) out.push(mountpoint);
  }
  return out.sort();
}

/** Creates `/<name>` in every hierarchy (cpuset's cpus and mems copied from the parent, so tasks may join it). */
export function createCgroupRoot(name: string): void {
  for (const h of hierarchies()) {
    const dir = join(h, name);
    if (!existsSync(dir)) mkdirSync(dir);
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(h, f), 'utf8'));
    }
  }
}

const gone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Every cgroup directory under `/<name>` in every hierarchy, deepest first (one removed while walked is skipped). */
export function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (err) {
      if (gone(err)) return; // the kubelet or containerd removed it meanwhile
      throw err;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      try {
        if (statSync(path).isDirectory()) walk(path);
      } catch (err) {
        if (!gone(err)) throw err;
      }
    }
    out.push(dir);
  };
  for (const h of hierarchies()) if (existsSync(join(h, name))) walk(join(h, name));
  return out.sort((a, b) => b.split('/').length - a.split('/').length);
}

/** The processes in any cgroup under `/<name>`. */
export function cgroupProcesses(name: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(name)) {
    try {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** Kills every process under `/<name>` and removes its cgroups; returns the directories that could not be removed. */
export async function removeCgroupRoot(name: string, deadlineMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    for (const pid of cgroupProcesses(name)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const left: string[] = [];
    for (const dir of cgroupDirs(name)) {
      try {
        rmdirSync(dir);
      } catch {
        left.push(dir);
      }
    }
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

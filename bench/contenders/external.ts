// Running a contender that is not the operator (the kubectl script, the raw floor,
// Reloader) under /usr/bin/time, so its CPU and largest-process RSS are known even
// for a script of many short kubectl processes, while the bench samples the summed
// RSS of its process tree.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { TIME_FORMAT, readTimeFile, sampleTreeRss, tree } from '../measure.ts';

export interface ExternalRun {
  child: ChildProcess;
  exited: Promise<number | string>;
  /** the process /usr/bin/time runs (the contender itself) */
  contenderPid(): Promise<number | undefined>;
  log(): Promise<string>;
  /** stops it if still running; CPU seconds, largest single-process RSS and summed-tree peak RSS, in bytes */
  finish(): Promise<{ cpuSeconds?: number; maxRssBytes?: number; treePeakRssBytes: number; treePeakAnonBytes: number; exit: number | string }>;
}

const live = new Set<ChildProcess>();
let hooked = false;
/** A bench that fails must not leave a contender running (Reloader would keep its port). */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) {
      for (const pid of treeSync(child.pid ?? 0).reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}

function treeSync(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const t of (() => {
      try {
        return readdirSync(`/proc/${String(out[i])}/task`);
      } catch {
        return [];
      }
    })()) {
      const text = (() => {
        try {
          return readFileSync(`/proc/${String(out[i])}/task/${t}/children`, 'utf8');
        } catch {
          return '';
        }
      })();
      for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
    }
  }
  return out;
}

export function runExternal(name: string, command: string, args: string[], dir: string, env: NodeJS.ProcessEnv = process.env): ExternalRun {
  const timeFile = `${dir}/${name}.time`;
  const logFile = `${dir}/${name}.log`;
  const log = createWriteStream(logFile);
  const child = spawn('/usr/bin/time', ['-f', TIME_FORMAT, '-o', timeFile, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | string>((r) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      r(code ?? signal ?? 'unknown');
    }),
  );
  live.add(child);
  hookExit();
  const sampler = sampleTreeRss(child.pid ?? 0);
  const contenderPid = async (): Promise<number | undefined> => (await tree(child.pid ?? 0))[1];
  return {
    child,
    exited,
    contenderPid,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    async finish() {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM the contender, not /usr/bin/time, so time still reports its usage.
        const pid = await contenderPid();
        if (pid) process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      const treePeakRssBytes = sampler.stop();
      await new Promise<void>((r) => log.end(r));
      const t = await readTimeFile(timeFile);
      return { cpuSeconds: t?.cpuSeconds, maxRssBytes: t?.maxRssBytes, treePeakRssBytes, treePeakAnonBytes: sampler.peakAnonBytes(), exit: await exited };
    },
  };
}

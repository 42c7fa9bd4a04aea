// Child processes of the harness: logged to files, stopped on teardown, and
// killed when the test process exits for any reason, so no test leaves one behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ManagedProcess {
  name: string;
  logFile: string;
  child: ChildProcess;
  /** resolves with the exit code (or signal name) when the process ends */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it is gone */
  stop(graceMs?: number): Promise<void>;
  /** the last lines of its log, for failure messages */
  tail(lines?: number): Promise<string>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export function startProcess(name: string, command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ManagedProcess {
  hookExit();
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  live.add(child);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', (err) => {
      live.delete(child);
      log.write(`spawn failed: ${err.message}\n`);
      resolve(`spawn error: ${err.message}`);
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((r) => log.end(r));
    })();
    return stopping;
  };
  const tail = async (lines = 30): Promise<string> => {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };
  return { name, logFile, child, exited, stop, tail };
}

// A Git repository served on 127.0.0.1 by `git daemon` (Debian's git), the
// repository Argo CD syncs from in the e2e tests; the test commits to it.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../cluster/ports.ts';
import { startProcess, type ManagedProcess } from '../cluster/processes.ts';
import { waitFor } from '../cluster/wait.ts';

const run = promisify(execFile);

export interface GitRepo {
  /** what an Application's spec.source.repoURL says: git://127.0.0.1:<port>/repo */
  url: string;
  /** the working tree the test edits and commits */
  dir: string;
  /** writes (or, with undefined, deletes) files relative to the repository root and commits them; the new HEAD */
  commit(message: string, files: Record<string, string | undefined>): Promise<string>;
  read(path: string): Promise<string>;
  head(): Promise<string>;
  stop(): Promise<void>;
}

async function git(dir: string, args: string[]): Promise<string> {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@127.0.0.1', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@127.0.0.1' };
  return (await run('git', ['-C', dir, ...args], { env })).stdout.trim();
}

/** Creates a repository holding `paths` (copied from `from`, e.g. the project's tree) on branch main, and serves it read-only. */
export async function startGitServer(from: string, paths: string[]): Promise<GitRepo> {
  const root = await mkdtemp(join(tmpdir(), 'authpolicy-git-'));
  // Removed by stop(), or when the test process exits without it (a failed before hook).
  const removeOnExit = (): void => {
    rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', removeOnExit);
  const dir = join(root, 'repo');
  await mkdir(dir);
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  for (const p of paths) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await cp(join(from, p), join(dir, p), { recursive: true });
  }
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '-m', 'the project tree']);
  const port = await freePort();
  // git-daemon itself, not `git daemon`: that runs it as a child, which a SIGKILL of `git` (the harness's
  // teardown when the test process dies) would leave serving.
  const execPath = (await run('git', ['--exec-path'])).stdout.trim();
  const daemon: ManagedProcess = startProcess(
    'git-daemon',
    join(execPath, 'git-daemon'),
    ['--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${root}`, '--export-all', '--informative-errors'],
    join(root, 'git-daemon.log'),
  );
  const url = `git://127.0.0.1:${port}/repo`;
  await waitFor(`git daemon to serve ${url}`, async () => {
    if (daemon.child.exitCode !== null) throw new Error(`git daemon exited: ${await daemon.tail()}`);
    return (await run('git', ['ls-remote', url, 'main']).catch(() => ({ stdout: '' }))).stdout.includes('refs/heads/main');
  });
  return {
    url,
    dir,
    async commit(message, files) {
      for (const [path, text] of Object.entries(files)) {
        if (text === undefined) await git(dir, ['rm', '--quiet', path]);
        else {
          await mkdir(dirname(join(dir, path)), { recursive: true });
          await writeFile(join(dir, path), text);
          await git(dir, ['add', path]);
        }
      }
      await git(dir, ['commit', '--quiet', '-m', message]);
      return await git(dir, ['rev-parse', 'HEAD']);
    },
    read: async (path) => await readFile(join(dir, path), 'utf8'),
    head: async () => await git(dir, ['rev-parse', 'HEAD']),
    async stop() {
      await daemon.stop();
      await rm(root, { recursive: true, force: true });
      process.off('exit', removeOnExit);
    },
  };
}

// A fresh clone, as CI's clean checkout or a user's `git clone` has it: no dist/,
// `npm ci`, then the executable (and kubectl plugin) works without a build step.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { ROOT } from '../cluster/operator.ts';

const test = suite('fresh clone');
let work: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 << 20, timeout: 5 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'authpolicy-clone-'));
});
test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('git clone, npm ci, then `node bin/authpolicy-operator.js --help` works (no dist/ built)', async () => {
  const clone = join(work, 'repo');
  // The committed tree (HEAD), as a clone has it; the working tree's changes are not part of it.
  const cloned = await exec('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], work);
  assert.is(cloned.code, 0, show(cloned));
  assert.not.ok(existsSync(join(clone, 'dist')), 'a clone has no dist/');
  const ci = await exec('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], clone);
  assert.is(ci.code, 0, show(ci));
  const help = await exec(process.execPath, ['bin/authpolicy-operator.js', '--help'], clone);
  assert.is(help.code, 0, show(help));
  assert.match(help.stdout, /^Usage: authpolicy-operator \[options\] \[command\]/m);
  // As the kubectl plugin (a symlink named kubectl-authpolicy), too.
  await symlink(join(clone, 'bin/authpolicy-operator.js'), join(work, 'kubectl-authpolicy'));
  const plugin = await exec(process.execPath, [join(work, 'kubectl-authpolicy'), 'status', '--help'], work);
  assert.is(plugin.code, 0, show(plugin));
  assert.match(plugin.stdout, /^Usage: kubectl authpolicy status \[options\]/m);
});

test('where the source cannot run (an install under node_modules/ without a build): one line saying what to run', async () => {
  const installed = join(work, 'node_modules', 'authpolicy-operator');
  const copied = await exec('git', ['clone', '--quiet', '--no-hardlinks', ROOT, installed], work);
  assert.is(copied.code, 0, show(copied));
  const r = await exec(process.execPath, [join(installed, 'bin/authpolicy-operator.js'), '--help'], work);
  assert.is(r.code, 2, show(r));
  assert.is(r.stderr.trim().split('\n').length, 1, show(r));
  assert.match(r.stderr, /not built: run `npm ci && npm run build` in /);
});

test.run();

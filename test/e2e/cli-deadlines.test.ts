// Every wait of `check` and `status` ends at its flag: against a server that accepts
// connections and never answers, and against a refused port, both exit 2 in time with
// one short line naming the server. Real sockets and real processes; no cluster needed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { ROOT } from '../cluster/operator.ts';
import { createCA } from '../cluster/pki.ts';
import { freePort } from '../cluster/ports.ts';

const test = suite('cli deadlines');
let dir: string;
let hung: Server;
const sockets: Socket[] = [];
let hungKubeconfig: string;
let refusedKubeconfig: string;
let hungServer: string;
let refusedServer: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}
function cli(args: string[], kubeconfig: string): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    // A hard limit far above the budget: a hang fails the assertion below, not the suite.
    execFile(process.execPath, [`${ROOT}/src/cli/main.ts`, ...args, `--kubeconfig=${kubeconfig}`], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}
const show = (r: Result): string => `exit ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/**
 * What starting the CLI costs right now, before it waits on anything (`<command> --help` loads every module the
 * command does): the deadline bounds the wait, not Node's start-up, which on a loaded 2-core machine alone
 * takes seconds. Each limit below is the flag's budget plus this, measured just before the run it bounds.
 */
async function startupMs(command: string): Promise<number> {
  const r = await cli([command, '--help'], hungKubeconfig);
  assert.is(r.code, 0, `${command} --help:\n${show(r)}`);
  return r.ms;
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authpolicy-deadlines-'));
  const ca = await createCA(dir);
  // Accepts every connection and never sends a byte (not even a TLS ServerHello).
  hung = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const address = hung.address();
  hungServer = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  refusedServer = `https://127.0.0.1:${await freePort()}`; // nothing listens there
  hungKubeconfig = await writeKubeconfig(join(dir, 'hung.kubeconfig'), hungServer, ca.cert, 'user', { token: 'not-a-real-token' });
  refusedKubeconfig = await writeKubeconfig(join(dir, 'refused.kubeconfig'), refusedServer, ca.cert, 'user', { token: 'not-a-real-token' });
});
test.after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => hung.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function assertOneShortLine(r: Result, command: string, server: string): void {
  const line = r.stderr.trim();
  assert.not.match(line, '\n', `one line:\n${show(r)}`);
  assert.ok(line.length < 300, `under 300 characters (${line.length}):\n${show(r)}`);
  assert.ok(line.startsWith(`${command}: `), show(r));
  assert.ok(line.includes(server), `names the server:\n${show(r)}`);
}

for (const command of ['check', 'status']) {
  test(`${command} --timeout 2s against a server that accepts and never answers: exit 2 within 4 s`, async () => {
    const startup = await startupMs(command);
    const r = await cli([command, '--timeout', '2s'], hungKubeconfig);
    assert.is(r.code, 2, show(r));
    assert.ok(r.ms < 4000 + startup, `exited after ${r.ms} ms (start-up alone ${startup} ms):\n${show(r)}`);
    assert.ok(r.ms >= 1900, `waited its 2 s first (${r.ms} ms)`);
    assertOneShortLine(r, command, hungServer);
    assert.match(r.stderr, 'no answer');
  });

  test(`${command} against a refused port: exit 2 within 3 s`, async () => {
    const startup = await startupMs(command);
    const r = await cli([command], refusedKubeconfig);
    assert.is(r.code, 2, show(r));
    assert.ok(r.ms < 3000 + startup, `exited after ${r.ms} ms (start-up alone ${startup} ms):\n${show(r)}`);
    assertOneShortLine(r, command, refusedServer);
    assert.match(r.stderr, 'ECONNREFUSED');
  });
}

test("status takes kubectl's --request-timeout (and --name is bounded too)", async () => {
  const statusStartup = await startupMs('status');
  const r = await cli(['status', '--request-timeout=1s', '--name', 'cluster'], hungKubeconfig);
  assert.is(r.code, 2, show(r));
  assert.ok(r.ms < 3000 + statusStartup, `start-up alone ${statusStartup} ms:\n${show(r)}`);
  assert.match(r.stderr, 'within 1s');
  const checkStartup = await startupMs('check');
  const c = await cli(['check', '--timeout=1s', '--name', 'cluster'], hungKubeconfig);
  assert.is(c.code, 2, show(c));
  assert.ok(c.ms < 3000 + checkStartup, `start-up alone ${checkStartup} ms:\n${show(c)}`);
});

test.run();

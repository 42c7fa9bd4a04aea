// The shipped executable: installed the way the Dockerfile installs it (compiled
// dist/, production dependencies only), then used as `kubectl authpolicy` through
// the harness's real kubectl, as a cluster admin would after `npm install -g`.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';

const test = suite('kubectl plugin from a production install');
let cluster: Cluster;
let op: OperatorProcess | undefined;
let work: string;
/** the production install: what the image's /app holds */
let app: string;
/** a directory on PATH holding only the kubectl-authpolicy symlink */
let pluginDir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, maxBuffer: 64 << 20, timeout: 5 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The real kubectl as a user runs it: KUBECONFIG set, the plugin and then Node 24 first on PATH (the bin's shebang is `env node`). */
async function kubectl(...args: string[]): Promise<Result> {
  const { KUBECTL_PATH: _ignored, ...env } = process.env;
  return await exec(join(cluster.binDir, 'kubectl'), args, {
    env: { ...env, KUBECONFIG: cluster.adminKubeconfig, PATH: [pluginDir, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter) },
  });
}

const dockerfile = (): Promise<string> => readFile(join(ROOT, 'Dockerfile'), 'utf8');
/** A tiny .dockerignore matcher (exact names and `*` globs, the forms the file uses). */
async function dockerIgnored(path: string): Promise<string | undefined> {
  const patterns = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const top = path.replace(/^\.\//, '').split('/')[0] ?? '';
  return patterns.find((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(top));
}

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'authpolicy-cli-'));
  app = join(work, 'app');
  pluginDir = join(work, 'plugins');
  await mkdir(app);
  await mkdir(pluginDir);
  cluster = await startCluster({ scheduler: false });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("1. the Dockerfile's install works: compiled dist/, production dependencies only, no dev tool", async () => {
  const text = await dockerfile();
  // Every build-context path the Dockerfile COPYs exists and is not excluded by .dockerignore.
  const copies = [...text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/).slice(0, -1));
  assert.ok(copies.length >= 5, `COPY sources: ${copies.join(' ')}`);
  for (const src of copies) {
    assert.ok(existsSync(join(ROOT, src)), `Dockerfile copies ${src}, which is not in the repository`);
    assert.is(await dockerIgnored(src), undefined, `Dockerfile copies ${src}, which .dockerignore excludes`);
  }
  // The build stage compiles with tsconfig.build.json; do the same into the install (not the shared dist/).
  assert.match(text, /^RUN npx tsc -p tsconfig\.build\.json$/m);
  const tsc = await exec(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')],
    { cwd: ROOT },
  );
  assert.is(tsc.code, 0, show(tsc));
  // The final stage's `npm ci`, flags and all.
  const finalStage = text.split(/^FROM /m).at(-1) ?? '';
  const install = /^RUN npm (ci[^&\n]*)/m.exec(finalStage)?.[1]?.trim().split(/\s+/);
  assert.ok(install?.includes('--omit=dev'), `final stage installs with: npm ${install?.join(' ') ?? '(no npm ci)'}`);
  await cp(join(ROOT, 'package.json'), join(app, 'package.json'));
  await cp(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  const npm = await exec('npm', install ?? [], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } });
  assert.is(npm.code, 0, show(npm));
  await cp(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  await cp(join(ROOT, 'crds'), join(app, 'crds'), { recursive: true });

  const help = await exec(process.execPath, [join(app, 'bin/authpolicy-operator.js'), '--help']);
  assert.is(help.code, 0, show(help));
  assert.match(help.stdout, /Usage: authpolicy-operator /);
  for (const cmd of ['run', 'check', 'status']) assert.match(help.stdout, new RegExp(`^\\s+${cmd} \\[options\\]`, 'm'));

  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
  };
  if (install?.includes('--ignore-scripts')) {
    const scripted = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript && !p.dev)
      .map(([k]) => k);
    assert.equal(scripted, [], 'these production dependencies have install scripts, which the Dockerfile skips (--ignore-scripts)');
  }
  const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
  for (const d of ['typescript', 'eslint', 'uvu']) assert.ok(devOnly.includes(d), `${d} is a dev-only dependency`);
  for (const d of devOnly) assert.not.ok(existsSync(join(app, 'node_modules', d)), `devDependency ${d} is in the production install`);
});

test('2. kubectl finds the plugin and execs it with its own name; flags go after the plugin name', async () => {
  await symlink(join(app, 'bin/authpolicy-operator.js'), join(pluginDir, 'kubectl-authpolicy'));
  const list = await kubectl('plugin', 'list');
  assert.match(list.stdout, join(pluginDir, 'kubectl-authpolicy'), show(list));
  assert.not.match(list.stderr, /kubectl-authpolicy/, show(list));

  const help = await kubectl('authpolicy', '--help');
  assert.is(help.code, 0, show(help));
  assert.match(help.stdout, /^Usage: kubectl authpolicy \[options\] \[command\]/m);
  for (const cmd of ['run', 'check', 'status']) assert.match(help.stdout, new RegExp(`^\\s+${cmd} \\[options\\]`, 'm'));
  const statusHelp = await kubectl('authpolicy', 'status', '--help');
  assert.match(statusHelp.stdout, /^Usage: kubectl authpolicy status \[options\]/m, show(statusHelp));

  // kubectl refuses flags before the plugin name (k8s.io/kubectl pkg/cmd/plugin.go HandlePluginCommand).
  const before = await kubectl(`--kubeconfig=${cluster.adminKubeconfig}`, 'authpolicy', 'status');
  assert.is(before.code, 1, show(before));
  assert.match(before.stderr, /flags cannot be placed before plugin name/);
  // A usage error is "could not read" (2), not "not ready" (1).
  const bad = await kubectl('authpolicy', 'status', '-o', 'xml');
  assert.is(bad.code, 2, show(bad));
  const context = await kubectl('authpolicy', 'status', '--context', 'nope');
  assert.is(context.code, 2, show(context));
  assert.match(context.stderr, /kubeconfig has no context "nope"/);
});

test('3. before the CRD, and before any policy: exit 2, saying what to apply', async () => {
  const noCrd = await kubectl('authpolicy', 'status');
  assert.is(noCrd.code, 2, show(noCrd));
  assert.match(noCrd.stderr, /AuthPolicy API \(authpolicies\.authpolicy\.io\) is not installed: kubectl apply --server-side -k config\/default/);

  await installOperatorPrereqs(cluster);
  const none = await kubectl('authpolicy', 'status');
  assert.is(none.code, 2, show(none));
  assert.match(none.stderr, /^status: no AuthPolicy found: apply one, e\.g\. kubectl apply -f config\/samples\/authpolicy_v1alpha1_authpolicy\.yaml$/m);
  const named = await kubectl('authpolicy', 'status', '--name', 'cluster');
  assert.is(named.code, 2, show(named));
  assert.match(named.stderr, /authpolicy cluster not found/);
});

test('4. the sample applied while no operator runs: "not yet observed", exit 1', async () => {
  const applied = await kubectl('apply', '-f', join(ROOT, 'config/samples/authpolicy_v1alpha1_authpolicy.yaml'));
  assert.is(applied.code, 0, show(applied));
  const r = await kubectl('authpolicy', 'status');
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, /^AuthPolicy cluster {3}generation 1, observed -: not yet observed by the operator/m);
  assert.match(r.stdout, /not ready \(exit 1\)\n$/);
});

test('5. with the operator running: Ready through kubectl wait, get, describe, status and check', async () => {
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect', '--log-level=info'] });
  // Ready needs the clock area's first API-server Lease renewal (every 10 s).
  const wait = await kubectl('wait', '--for=condition=Ready', 'authpolicy/cluster', '--timeout=120s');
  assert.is(wait.code, 0, `${show(wait)}\n--- operator\n${op.output().slice(-3000)}`);

  const get = await kubectl('get', 'authpolicy');
  assert.is(get.code, 0, show(get));
  assert.match(get.stdout, /^NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+CLOCK\s+AGE$/m);
  assert.match(get.stdout, /^cluster\s+True\s+AllAreasReady\s+NodeAuthorizer\s+\w+\s+ClocksInSync\s+\d+\w*$/m);
  const wide = await kubectl('get', 'ap', '-o', 'wide');
  assert.is(wide.code, 0, show(wide));
  assert.match(wide.stdout, /^NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+RESTARTS\s+CLOCK\s+BOUNDTOKENS\s+DRYRUN\s+AGE\s+MESSAGE$/m);
  assert.match(
    wide.stdout,
    /^cluster\s+True\s+AllAreasReady\s+NodeAuthorizer\s+\w+\s+\w+\s+ClocksInSync\s+\w+\s+false\s+\d+\w*\s+Every managed area is in its desired state\.$/m,
  );

  const describe = await kubectl('describe', 'authpolicy', 'cluster');
  assert.is(describe.code, 0, show(describe));
  assert.match(describe.stdout, /^\s+Conditions:$/m);
  assert.match(describe.stdout, /Reason:\s+AllAreasReady\n\s+Status:\s+True\n\s+Type:\s+Ready/);
  assert.match(describe.stdout, /Reason:\s+NodeAuthorizer\n\s+Status:\s+True\n\s+Type:\s+NodeAuthorizationReady/);
  assert.match(describe.stdout, /Reason:\s+ClocksInSync\n\s+Status:\s+True\n\s+Type:\s+ClockSynchronized/);

  const status = await kubectl('authpolicy', 'status');
  assert.is(status.code, 0, show(status));
  assert.match(status.stdout, /^AuthPolicy cluster {3}generation 1, observed 1$/m);
  const table = status.stdout.split('\n');
  const header = table.findIndex((l) => /^TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/.test(l));
  assert.ok(header > 0, show(status));
  assert.match(table[header + 1] ?? '', /^Ready\s+True\s+AllAreasReady\s+\d+\w*\s+Every managed area/);
  for (const type of ['NodeAuthorizationReady', 'LegacyTokensReady', 'WorkloadsRestarted', 'ClockSynchronized', 'BoundTokensHealthy']) {
    assert.match(status.stdout, new RegExp(`^${type}\\s+True\\s+\\w+`, 'm'));
  }
  assert.match(status.stdout, /^nodeAuthorization\s+authorizer=Node kubeletsAuthorized=true/m);
  assert.match(status.stdout, /^clock\s+maxSkew=30s measured=\d+ skewed=0$/m);
  assert.match(status.stdout, /\nready \(exit 0\)\n$/);

  const json = await kubectl('authpolicy', 'status', '--name', 'cluster', '-o', 'json');
  assert.is(json.code, 0, show(json));
  const doc = JSON.parse(json.stdout) as {
    exitCode: number;
    policies: { name: string; observed: boolean; ready: boolean; conditions: unknown[]; clock?: unknown }[];
  };
  assert.is(doc.exitCode, 0);
  assert.equal(
    doc.policies.map((p) => [p.name, p.observed, p.ready, p.conditions.length, p.clock !== undefined]),
    [['cluster', true, true, 6, true]],
  );
  const yaml = await kubectl('authpolicy', 'status', '-o', 'yaml');
  assert.is(yaml.code, 0, show(yaml));
  const fromYaml = parse(yaml.stdout) as typeof doc;
  assert.is(fromYaml.exitCode, 0);
  assert.equal(
    fromYaml.policies.map((p) => [p.name, p.ready, p.conditions.length]),
    [['cluster', true, 6]],
  );

  const check = await kubectl('authpolicy', 'check', '--name', 'cluster');
  assert.is(check.code, 0, show(check));
  assert.match(check.stdout, /^AuthPolicy cluster$/m);
  assert.match(check.stdout, /healthy \(exit 0\)\n$/);
});

test.run();

// The Argo CD health check, laid out as Argo CD's resource_customizations/
// (config/argocd/resource_customizations/authpolicy.io/AuthPolicy/), tested the
// way Argo CD tests its built-in checks (TestLuaHealthScript in
// util/lua/health_test.go): every health_test.yaml entry must give exactly its
// status and message, evaluated by Argo CD's own util/lua at v3.2.11
// (test/argocd/build/health-test, built by build-argocd.sh), on fixtures that
// are real `kubectl get -o yaml` output (test/argocd/capture-fixtures.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { argocdDir } from '../argocd/argocd.ts';

const test = suite('argo cd health check');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'config', 'argocd', 'resource_customizations', 'authpolicy.io', 'AuthPolicy');
const CM = join(ROOT, 'config', 'argocd', 'argocd-cm.yaml');
const HEALTH_LUA = join(DIR, 'health.lua');
const CM_KEY = 'resource.customizations.health.authpolicy.io_AuthPolicy';

interface Health {
  status: string;
  message?: string;
}
interface Entry {
  healthStatus: Health;
  inputPath: string;
}
interface Line {
  inputPath: string;
  want: Health;
  got?: Health;
  error?: string;
}
interface Fixture {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; generation?: number; managedFields?: unknown };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status?: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number }[];
  };
}

let runner = '';
const tmp = mkdtempSync(join(tmpdir(), 'argocd-health-'));
const entries = (parse(readFileSync(join(DIR, 'health_test.yaml'), 'utf8')) as { tests: Entry[] }).tests;

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(runner, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
function evaluate(obj: unknown, script = HEALTH_LUA, openLibs = false): Health {
  const file = join(tmp, `obj-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(obj));
  const r = run([...(openLibs ? ['--use-open-libs'] : []), '--eval', script, file]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Health;
}
const fixture = (inputPath: string): Fixture => parse(readFileSync(join(DIR, inputPath), 'utf8')) as Fixture;

test.before(() => {
  runner = join(argocdDir('argocd-health-test'), 'argocd-health-test');
});
test.after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

test("the evaluator is Argo CD's own util/lua from github.com/argoproj/argo-cd/v3 v3.2.11 (its build info)", () => {
  const info = execFileSync('go', ['version', '-m', runner], { encoding: 'utf8' });
  assert.match(info, /\n\tdep\tgithub\.com\/argoproj\/argo-cd\/v3\tv3\.2\.11\t/);
  assert.match(info, /\n\tdep\tgithub\.com\/yuin\/gopher-lua\t/);
});

for (const mode of [
  { name: "Argo CD's default sandbox (argocd-cm)", args: [] },
  { name: 'open libraries (as TestLuaHealthScript runs)', args: ['--use-open-libs'] },
]) {
  test(`every health_test.yaml entry gives exactly its status and message: ${mode.name}`, () => {
    const r = run([...mode.args, DIR]);
    const got = lines(r.stdout);
    assert.is(got.length, entries.length, r.stderr);
    for (const [i, line] of got.entries()) {
      assert.is(line.inputPath, entries[i]?.inputPath);
      assert.is(line.error, undefined, `${line.inputPath}: ${line.error ?? ''}`);
      assert.equal(line.got, line.want, line.inputPath);
      assert.equal(line.want, entries[i]?.healthStatus, line.inputPath);
    }
    assert.is(r.code, 0, r.stderr);
  });
}

test('health_test.yaml covers Healthy, Progressing and Degraded, and every entry has a message', () => {
  const statuses = new Set(entries.map((e) => e.healthStatus.status));
  for (const s of ['Healthy', 'Progressing', 'Degraded']) assert.ok(statuses.has(s), `no ${s} entry`);
  for (const e of entries) assert.ok(e.healthStatus.message, `${e.inputPath}: no message`);
});

test('every fixture in testdata/ is tested, and every tested file exists', () => {
  const files = readdirSync(join(DIR, 'testdata'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `testdata/${f}`)
    .sort();
  assert.equal([...new Set(entries.map((e) => e.inputPath))].sort(), files);
});

test('every fixture is real API server output (kubectl get -o yaml of an AuthPolicy)', () => {
  for (const { inputPath } of entries) {
    const o = fixture(inputPath);
    assert.is(o.apiVersion, 'authpolicy.io/v1alpha1', inputPath);
    assert.is(o.kind, 'AuthPolicy', inputPath);
    assert.match(o.metadata.uid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${inputPath}: metadata.uid`);
    assert.match(o.metadata.resourceVersion ?? '', /^\d+$/, `${inputPath}: metadata.resourceVersion`);
    assert.match(o.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${inputPath}: metadata.creationTimestamp`);
    assert.type(o.metadata.generation, 'number', `${inputPath}: metadata.generation`);
    // kubectl get -o yaml leaves managedFields out unless --show-managed-fields.
    assert.is(o.metadata.managedFields, undefined, `${inputPath}: managedFields`);
    for (const c of o.status?.conditions ?? []) {
      assert.match(c.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${inputPath}: ${c.type}.lastTransitionTime`);
      assert.type(c.observedGeneration, 'number', `${inputPath}: ${c.type}.observedGeneration`);
    }
  }
});

test('argocd-cm.yaml installs exactly health.lua', () => {
  const cm = parse(readFileSync(CM, 'utf8')) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    data: Record<string, string>;
  };
  assert.is(cm.kind, 'ConfigMap');
  assert.is(cm.metadata.name, 'argocd-cm');
  assert.equal(Object.keys(cm.data), [CM_KEY]);
  assert.ok(cm.data[CM_KEY] === readFileSync(HEALTH_LUA, 'utf8'), 'argocd-cm.yaml differs from health.lua: re-indent health.lua under the data key');
});

test('the runner really evaluates: Ready=True with the spec changed since is Progressing', () => {
  const healthy = entries.find((e) => e.healthStatus.status === 'Healthy');
  assert.ok(healthy, 'a Healthy fixture');
  const o = fixture(healthy.inputPath);
  const generation = o.metadata.generation ?? 0;
  assert.equal(evaluate(o), healthy.healthStatus);
  o.metadata.generation = generation + 1;
  assert.equal(evaluate(o), {
    status: 'Progressing',
    message: `Waiting for authpolicy-operator to observe generation ${generation + 1} (status is for generation ${generation})`,
  });
});

test('states too brief to capture, derived from a real fixture: Rotating is Progressing, TokensInvalid and Forbidden are Degraded', () => {
  const base = entries.find((e) => e.inputPath.endsWith('progressing-rotation.yaml'));
  assert.ok(base, 'the rotation fixture');
  const withCondition = (type: string, status: string, reason: string, message: string): unknown => {
    const o = fixture(base.inputPath);
    if (o.status?.conditions)
      o.status.conditions = o.status.conditions
        .filter((c) => c.type !== 'WorkloadsRestarted' && c.type !== 'ClockSynchronized')
        .map((c) => (c.type === type ? { ...c, status, reason, message } : c));
    return o;
  };
  assert.equal(evaluate(withCondition('LegacyTokensReady', 'False', 'Rotating', 'rotating 1 token Secret(s) in place: apps/builder-token')), {
    status: 'Progressing',
    message: 'LegacyTokensReady is False (Rotating): rotating 1 token Secret(s) in place: apps/builder-token',
  });
  assert.equal(evaluate(withCondition('LegacyTokensReady', 'False', 'TokensInvalid', '1 token Secret(s) need attention')), {
    status: 'Degraded',
    message: 'LegacyTokensReady is False (TokensInvalid): 1 token Secret(s) need attention',
  });
  assert.equal(evaluate(withCondition('LegacyTokensReady', 'Unknown', 'Forbidden', 'the operator is not allowed to list secrets')), {
    status: 'Degraded',
    message: 'LegacyTokensReady is Unknown (Forbidden): the operator is not allowed to list secrets',
  });
});

test('the runner reports a mismatching entry and exits non-zero', () => {
  const dir = join(tmp, 'mismatch');
  execFileSync('mkdir', ['-p', join(dir, 'testdata')]);
  writeFileSync(join(dir, 'health.lua'), readFileSync(HEALTH_LUA));
  const first = entries[0];
  assert.ok(first);
  writeFileSync(join(dir, first.inputPath), readFileSync(join(DIR, first.inputPath)));
  const want = { status: first.healthStatus.status, message: `${first.healthStatus.message ?? ''}!` };
  writeFileSync(join(dir, 'health_test.yaml'), stringify({ tests: [{ healthStatus: want, inputPath: first.inputPath }] }));
  const r = run([dir]);
  assert.is(r.code, 1);
  const [line] = lines(r.stdout);
  assert.equal(line?.want, want);
  assert.equal(line?.got, first.healthStatus);
});

test("the VM is Argo CD's: no string library unless useOpenLibs, invalid statuses become Unknown, 1 s timeout", () => {
  const obj = fixture(entries[0]?.inputPath ?? '');
  const script = (name: string, text: string): string => {
    const path = join(tmp, name);
    writeFileSync(path, text);
    return path;
  };
  const usesString = script('string.lua', 'return { status = "Healthy", message = string.upper("ok") }\n');
  const closed = run(['--eval', usesString, join(DIR, entries[0]?.inputPath ?? '')]);
  assert.is(closed.code, 1);
  assert.match(closed.stderr, /attempt to index a non-table object\(nil\) with key 'upper'/);
  assert.equal(evaluate(obj, usesString, true), { status: 'Healthy', message: 'OK' });
  assert.equal(evaluate(obj, script('invalid.lua', 'return { status = "Fine" }\n')), { status: 'Unknown', message: 'Lua returned an invalid health status' });
  const started = Date.now();
  const loop = run(['--eval', script('loop.lua', 'while true do end\n'), join(DIR, entries[0]?.inputPath ?? '')]);
  assert.is(loop.code, 1);
  assert.match(loop.stderr, /context deadline exceeded/);
  assert.ok(Date.now() - started < 10_000, 'stopped by the 1 s deadline');
});

test.run();

// npm run bench [-- --quick | --growth | --large | --preset=default] [--sizes=3] [--repeat=3] [--no-limits]
//                [--contenders=operator,kubectl,floor,reloader,reloader-blank] [--parallelism=4] [--out=bench/results]
// One control plane on loopback (kube-apiserver with an audit log of the bench's own
// identities only), kwok playing the Nodes and Pods; for each size of the preset:
// generate the cluster, then each contender in turn gets its own signing-key
// regeneration and is judged from the cluster: every token re-issued and accepted,
// every dependent rolled out exactly once. The operator's replicas run under the requests and limits that
// config/manager ships (cgroup v1). See bench/README.md.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startCluster, mustKubectl, type Cluster } from '../test/cluster/harness.ts';
import { startKwok } from '../test/cluster/kwok.ts';
import { installOperatorPrereqs } from '../test/cluster/operator.ts';
import { waitFor } from '../test/cluster/wait.ts';
import { neighboursWork } from './neighbours.ts';
import { Api } from './kube.ts';
import { generate, nsName, waitSettled } from './generate.ts';
import { PRESETS, type Size } from './presets.ts';
import { auditPolicy, countRequests, cpuSeconds, pidByCommandLine, processes, sampleLoad, MiB, type BenchGroup, type RequestCount } from './measure.ts';
import { baseline, clockStart, waitRotation, type Regeneration, type RotationResult } from './rotation.ts';
import { ROOT, OPERATOR_GROUPS, OPERATOR_USER, operatorNodeOptions } from './contenders/operator.ts';
import { runExternal } from './contenders/external.ts';
import { cgroupsAvailable, shippedResources } from './cgroup.ts';
import { operatorRun } from './operator-run.ts';
import { addRatios, runStats } from './compare.ts';
import { markdown } from './markdown.ts';
import type { ContenderResult, SizeResult, BenchResult } from './report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    growth: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    preset: { type: 'string' },
    contenders: { type: 'string', default: 'operator,kubectl,floor,reloader,reloader-blank' },
    repeat: { type: 'string', default: '1' },
    'no-limits': { type: 'boolean', default: false },
    sizes: { type: 'string' },
    parallelism: { type: 'string', default: '4' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
});
const presetName = values.preset ?? (values.quick ? 'quick' : values.growth ? 'growth' : values.large ? 'large' : 'default');
const found = PRESETS[presetName];
if (!found) throw new Error(`unknown preset ${presetName}; one of ${Object.keys(PRESETS).join(', ')}`);
// --sizes=3 (1-based positions in the preset, comma-separated) runs only those sizes, e.g. the default size alone.
const picked = values.sizes?.split(',').map((n) => found.sizes[Number(n) - 1]);
if (picked?.some((x) => x === undefined)) throw new Error(`--sizes=${values.sizes}: positions 1..${found.sizes.length} of preset ${presetName}`);
const preset = picked ? { ...found, sizes: picked as Size[] } : found;
const parallelism = Number(values.parallelism);
const contenders = values.contenders.split(',');
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat=${values.repeat}: a whole number of runs, 1 or more`);
// The shipped requests and limits, each replica in its own cgroups (see cgroup.ts); --no-limits runs without.
const resources = values['no-limits'] ? undefined : shippedResources(readFileSync(join(ROOT, 'config/manager/manager.yaml'), 'utf8'));
if (resources && !cgroupsAvailable())
  throw new Error(
    'the bench runs the operator under the shipped limits through cgroup v1 cpu and memory controllers, not found writable here; run as root on cgroup v1, or pass --no-limits',
  );
// The build measured: BENCH_COMMIT (bench/at-commit.sh sets it for a clean export of a commit), else HEAD, marked
// "+dirty" when src/, config/ or bin/ differ from it.
const commit =
  process.env.BENCH_COMMIT ??
  (() => {
    const git = (args: string[]): string => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
    const head = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--', 'src', 'config', 'bin', 'package.json']) ? `${head}+dirty` : head;
  })();
const began = Date.now();
const log = (m: string): void => {
  console.log(`[bench +${Math.round((Date.now() - began) / 1000)}s] ${m}`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const loadAtStart = loadavg().map(round2);

async function reloaderBinary(): Promise<string | undefined> {
  const script = process.env.RELOADER_BUILD ?? join(ROOT, '..', 'shared', 'third_party', 'reloader', 'build.sh');
  if (!existsSync(script)) {
    log(`no ${script}: Reloader is left out`);
    return undefined;
  }
  log('building Stakater Reloader v1.4.21 (once, into ~/.cache/authpolicy-operator/bin)');
  const { stdout } = await promisify(execFile)('bash', [script], { maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').pop();
}

const reloader = contenders.includes('reloader') ? await reloaderBinary() : undefined;
const work = await mkdtemp(join(tmpdir(), 'authpolicy-bench-'));
const auditLog = join(work, 'audit.log');
await writeFile(join(work, 'audit-policy.json'), auditPolicy());
log(`preset ${preset.name}: ${preset.sizes.map((s) => s.name).join(', ')}; contenders ${contenders.join(', ')}; parallelism ${parallelism}; work dir ${work}`);
const cluster: Cluster = await startCluster({
  apiserverArgs: [
    `--audit-policy-file=${join(work, 'audit-policy.json')}`,
    `--audit-log-path=${auditLog}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=100000',
    '--audit-log-mode=blocking',
  ],
});
const kwok = startKwok(cluster, ['--node-lease-duration-seconds=40']);
const admin = new Api(cluster.adminKubeconfig, 'bench-admin/1');
const kc = {
  operator: await cluster.userKubeconfig(OPERATOR_USER, [...OPERATOR_GROUPS, 'bench:operator']),
  standby: await cluster.userKubeconfig(OPERATOR_USER, [...OPERATOR_GROUPS, 'bench:standby']),
  kubectl: await cluster.userKubeconfig('bench-kubectl', ['system:masters', 'bench:kubectl']),
  floor: await cluster.userKubeconfig('bench-floor', ['system:masters', 'bench:floor']),
  reloader: await cluster.userKubeconfig('bench-reloader', ['system:masters', 'bench:reloader']),
  blanker: await cluster.userKubeconfig('bench-blanker', ['system:masters', 'bench:blanker']),
};
log(
  resources
    ? `operator replicas under config/manager's requests and limits: cpu ${resources.requests.cpuMilli ?? '–'}m / ${resources.limits.cpuMilli ?? '–'}m, memory ${MiB(resources.requests.memoryBytes ?? 0)} / ${MiB(resources.limits.memoryBytes ?? 0)} MiB; build ${commit}`
    : `operator replicas without limits (--no-limits); build ${commit}`,
);

const results: SizeResult[] = [];
/** when each signing-key regeneration began: kube-apiserver restarts then, ending every watch */
const cuts: number[] = [];
const requests = async (group: BenchGroup, from: number, to: number): Promise<RequestCount> => await countRequests(auditLog, group, from, to + 2000, cuts);

/**
 * Regenerates the signing key: kube-apiserver restarts with it, then kube-scheduler (a fresh informer: its own would
 * back off after the outage), and kube-controller-manager (its tokens controller re-issues every token) only once a
 * canary Pod ran on a kwok Node, so no contender's rollouts wait on neighbours still backing off (see neighbours.ts);
 * that wait is left out of every contender's time (see clockStart) and reported as `neighboursSeconds`.
 */
async function regenerate(): Promise<Regeneration> {
  const start = Date.now();
  cuts.push(start);
  log('regenerating the service-account signing key (kube-apiserver and kube-controller-manager restart)');
  let neighboursSeconds: number | undefined;
  const neighbours = async (): Promise<void> => {
    neighboursSeconds = await neighboursWork(admin, `bench-canary-${cuts.length}`, 120_000, log);
  };
  try {
    await cluster.restart({ newSigningKey: true, restartScheduler: true, onServing: neighbours });
  } catch (err) {
    // The harness gives kube-apiserver 60 s to serve again; at the default size on a loaded machine it fills its
    // watch cache for longer. The regeneration is done (new key, kube-apiserver started): wait on, then start
    // kube-controller-manager as the restart would have (kube-scheduler keeps its own informer on this path).
    if (!/readyz \(restart\)/.test((err as Error).message)) throw err;
    log('kube-apiserver not ready 60 s after its restart; waiting up to 15 minutes more');
    await waitFor('kube-apiserver /readyz after the regeneration', async () => (await cluster.kubectl(['get', '--raw', '/readyz'])).code === 0, {
      timeoutMs: 900_000,
      intervalMs: 1000,
    });
    await neighbours();
    await cluster.startControllerManager();
  }
  log(
    `kube-apiserver and kube-controller-manager serve again after ${Math.round((Date.now() - start) / 1000)} s (of which ${neighboursSeconds ?? '–'} s until kube-scheduler and kwok ran a canary Pod)`,
  );
  return {
    start,
    apiserverPid: pidByCommandLine(await processes(), ['kube-apiserver', `--secure-port=${cluster.port}`]),
    ...(neighboursSeconds === undefined ? {} : { neighboursSeconds }),
  };
}

const settleMs = (size: Size): number => Math.min(30_000, 5000 + size.deployments * 10);

/** CPU seconds of the kube-apiserver that the regeneration started, at the end of a rotation (and until it served). */
async function apiserverCpu(
  pid: number | undefined,
  startup: number | undefined,
): Promise<{ apiserverCpuSeconds?: number; apiserverStartupCpuSeconds?: number }> {
  const now = pid ? await cpuSeconds(pid) : undefined;
  return { apiserverCpuSeconds: now === undefined ? undefined : round(now), apiserverStartupCpuSeconds: startup === undefined ? undefined : round(startup) };
}

async function externalRun(name: 'kubectl' | 'floor', size: Size): Promise<ContenderResult> {
  const base = await baseline(admin);
  const { start, apiserverPid, neighboursSeconds } = await regenerate();
  const startupCpu = apiserverPid ? await cpuSeconds(apiserverPid) : undefined;
  const load = sampleLoad();
  const namespaces = Array.from({ length: size.namespaces }, (_, i) => nsName(size, i));
  const run =
    name === 'kubectl'
      ? runExternal(
          'kubectl',
          'bash',
          [join(ROOT, 'bench/contenders/kubectl-rotate.sh'), join(cluster.binDir, 'kubectl'), kc.kubectl, String(parallelism), ...namespaces],
          work,
        )
      : runExternal('floor', process.execPath, [join(ROOT, 'bench/contenders/floor.ts'), `--kubeconfig=${kc.floor}`, `--parallelism=${parallelism}`], work);
  const rotation = await waitRotation(admin, base, clockStart(start, neighboursSeconds), preset.rotationTimeoutSeconds * 1000, settleMs(size), (m) => {
    log(`${name}: ${m}`);
  });
  const api = await apiserverCpu(apiserverPid, startupCpu);
  const usage = await run.finish();
  if (usage.exit !== 0) log(`${name} exited with ${usage.exit}: ${(await run.log()).slice(-1500)}`);
  const cpu = usage.cpuSeconds === undefined ? undefined : round(usage.cpuSeconds);
  return {
    rotation: { ...rotation, requests: await requests(`bench:${name}`, start, Date.now()), cpuSeconds: cpu, ...api, neighboursSeconds, load: load.stop() },
    peakRssMiB: MiB(Math.max(usage.treePeakRssBytes, usage.maxRssBytes ?? 0)),
    peakAnonMiB: MiB(usage.treePeakAnonBytes),
    largestProcessRssMiB: MiB(usage.maxRssBytes ?? 0),
    cpuSeconds: cpu,
    exit: usage.exit,
  };
}

/**
 * Reloader v1.4.21 with its defaults (one worker per resource kind: `c.Run(1, stop)` in its cmd/reloader.go,
 * whatever --parallelism says), started and synced before the regeneration. `trigger` changes the Secrets:
 * "delete/recreate" as the seeds and the kubectl script do (Reloader ignores the create and the delete by default
 * and acts on the tokens controller's fill), or "blank-refill" (a merge patch blanks each token in place; the
 * refill is a second change).
 */
async function reloaderRun(binary: string, size: Size, trigger: 'delete/recreate' | 'blank-refill'): Promise<ContenderResult> {
  const run = runExternal('reloader', binary, [], work, { ...process.env, KUBECONFIG: kc.reloader });
  const since = Date.now();
  // Reloader's informers stream their initial lists (watch with sendInitialEvents); it reads workloads only when a Secret changes.
  await waitFor(
    'Reloader to watch Secrets',
    async () => {
      if (run.child.exitCode !== null) throw new Error(`Reloader exited (it listens on :9090, which must be free): ${(await run.log()).slice(-400)}`);
      const r = await countRequests(auditLog, 'bench:reloader', since, Date.now() + 1000);
      return (r.byVerbResource['watch secrets'] ?? 0) > 0;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await sleep(3000); // bounded margin for its informer to receive the initial events
  const pid = await run.contenderPid();
  const cpuBefore = pid ? ((await cpuSeconds(pid)) ?? 0) : 0;
  const base = await baseline(admin);
  const { start, apiserverPid, neighboursSeconds } = await regenerate();
  const startupCpu = apiserverPid ? await cpuSeconds(apiserverPid) : undefined;
  const load = sampleLoad();
  const blanker = runExternal(
    'blanker',
    process.execPath,
    [
      join(ROOT, 'bench/contenders/floor.ts'),
      `--kubeconfig=${kc.blanker}`,
      `--parallelism=${parallelism}`,
      trigger === 'blank-refill' ? '--blank-only' : '--recreate-only',
    ],
    work,
  );
  let rotation: RotationResult;
  try {
    rotation = await waitRotation(admin, base, clockStart(start, neighboursSeconds), preset.rotationTimeoutSeconds * 1000, settleMs(size), (m) => {
      log(`reloader (${trigger}): ${m}`);
    });
  } finally {
    await blanker.finish();
  }
  const api = await apiserverCpu(apiserverPid, startupCpu);
  const usage = await run.finish();
  const own = await requests('bench:reloader', start, Date.now());
  const blanks = await requests('bench:blanker', start, Date.now());
  return {
    trigger,
    workers: 1,
    rotation: {
      ...rotation,
      requests: { ...own, total: own.total + blanks.total },
      reloaderRequests: own.total,
      blankerRequests: blanks.total,
      triggerRequests: blanks.total,
      cpuSeconds: usage.cpuSeconds === undefined ? undefined : round(usage.cpuSeconds - cpuBefore),
      ...api,
      neighboursSeconds,
      load: load.stop(),
    },
    peakRssMiB: MiB(Math.max(usage.treePeakRssBytes, usage.maxRssBytes ?? 0)),
    peakAnonMiB: MiB(usage.treePeakAnonBytes),
    cpuSeconds: usage.cpuSeconds === undefined ? undefined : round(usage.cpuSeconds),
  };
}

const policy = (p: number): string =>
  JSON.stringify({
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: {
      nodeAuthorization: { mode: 'NodeAuthorizer' },
      legacyTokens: { rotateOn: ['InvalidToken', 'StaleCA'], restartWorkloads: true, maxConcurrentRestarts: p },
    },
  });

async function runContender(c: string, size: Size, tag: string): Promise<ContenderResult | undefined> {
  if (c === 'operator') {
    const load = sampleLoad();
    const r = await operatorRun(
      {
        admin,
        kubeconfigs: kc,
        log,
        requests,
        regenerate,
        idleSeconds: preset.idleSeconds,
        rotationTimeoutMs: preset.rotationTimeoutSeconds * 1000,
        settleMs: settleMs(size),
        work,
        resources,
        tag,
      },
      size,
    );
    if (r.rotation) r.rotation.load = load.stop();
    else load.stop();
    return r;
  }
  if (c === 'kubectl' || c === 'floor') return await externalRun(c, size);
  if (c === 'reloader' && reloader) return await reloaderRun(reloader, size, 'delete/recreate');
  if (c === 'reloader-blank' && reloader) return await reloaderRun(reloader, size, 'blank-refill');
  return undefined;
}

try {
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: policy(parallelism) });
  let previous: Size | undefined;
  for (const size of preset.sizes) {
    const t0 = Date.now();
    log(`generating ${size.name}`);
    await generate(admin, previous, size, 8, log);
    await waitSettled(admin, size, 3_600_000, log);
    const sr: SizeResult = { size, setupSeconds: round((Date.now() - t0) / 1000), contenders: {}, ...(repeat > 1 ? { runs: [] } : {}) };
    results.push(sr);
    for (let i = 0; i < repeat; i++) {
      const run: Record<string, ContenderResult> = i === 0 ? sr.contenders : {};
      sr.runs?.push(run);
      for (const c of contenders) {
        log(`— ${c} on ${size.name}${repeat > 1 ? `, run ${i + 1} of ${repeat}` : ''}`);
        try {
          const r = await runContender(c, size, `${process.pid}-${size.name}-${i + 1}`);
          if (r) run[c] = r;
        } catch (err) {
          log(`${c} failed: ${(err as Error).message}`);
          run[c] = { error: (err as Error).message };
        }
        await writeResults(); // after every contender, so a run cut short keeps what it measured
        // the next contender starts from a cluster where everything is rolled out
        await waitSettled(admin, size, 600_000, () => undefined);
      }
    }
    previous = size;
  }
} finally {
  await kwok.stop();
  await admin.close();
  await cluster.stop();
  // the audit log and the contenders' logs; KEEP_CLUSTER=1 keeps them, as it keeps the cluster's files
  if (!process.env.KEEP_CLUSTER) await rm(work, { recursive: true, force: true });
}
log(`done in ${Math.round((Date.now() - began) / 1000)} s`);

async function writeResults(): Promise<void> {
  const date = new Date(began).toISOString().slice(0, 10);
  const out: BenchResult = {
    preset: preset.name,
    date,
    startedAt: new Date(began).toISOString(),
    durationSeconds: round((Date.now() - began) / 1000),
    parallelism,
    operatorNodeOptions: operatorNodeOptions(resources !== undefined),
    commit,
    ...(resources ? { operatorResources: resources } : {}),
    repeat,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      note: process.env.BENCH_MACHINE_NOTE ?? '',
      loadAverage: { atStart: loadAtStart, atWrite: loadavg().map(round2) },
    },
    sizes: results,
  };
  for (const s of out.sizes) {
    for (const run of s.runs ?? [s.contenders]) addRatios(run);
    if (s.runs) s.stats = runStats(s.runs);
  }
  await mkdir(values.out, { recursive: true });
  const sizesTag = values.sizes ? `-sizes${values.sizes.replace(/,/g, '')}` : '';
  const base = join(
    values.out,
    `${date}-${preset.name}${sizesTag}${repeat > 1 ? `-x${repeat}` : ''}${values['no-limits'] ? '-nolimits' : ''}${process.env.BENCH_OPERATOR_NODE_OPTIONS !== undefined ? '-v8flags' : ''}-${commit.replace('+', '-')}`,
  );
  await writeFile(`${base}.json`, JSON.stringify(out, null, 2) + '\n');
  await writeFile(`${base}.md`, markdown(out));
  log(`results: ${base}.json and ${base}.md`);
}

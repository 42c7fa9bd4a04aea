// npm run bench [-- --quick | --growth | --large | --preset=default] [--sizes=3] [--contenders=operator,kubectl,floor,reloader]
//                [--parallelism=4] [--out=bench/results]
// One control plane on loopback (kube-apiserver with an audit log of the bench's own
// identities only), kwok playing the Nodes and Pods; for each size of the preset:
// generate the cluster, then each contender in turn gets its own signing-key
// regeneration and is judged from the cluster: every token re-issued and accepted,
// every dependent rolled out exactly once. See bench/README.md.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startCluster, mustKubectl, type Cluster } from '../test/cluster/harness.ts';
import { startKwok } from '../test/cluster/kwok.ts';
import { installOperatorPrereqs } from '../test/cluster/operator.ts';
import { waitFor } from '../test/cluster/wait.ts';
import { Api } from './kube.ts';
import { generate, nsName, waitSettled } from './generate.ts';
import { PRESETS, type Size } from './presets.ts';
import { auditPolicy, countRequests, counterBy, cpuSeconds, diff, gauge, peakRss, MiB, type BenchGroup, type RequestCount } from './measure.ts';
import { baseline, waitRotation, type RotationResult } from './rotation.ts';
import { ROOT, OPERATOR_GROUPS, OPERATOR_USER, operatorNodeOptions, startShippedOperator } from './contenders/operator.ts';
import { runExternal } from './contenders/external.ts';
import { markdown, type ContenderResult, type SizeResult, type BenchResult } from './report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    growth: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    preset: { type: 'string' },
    contenders: { type: 'string', default: 'operator,kubectl,floor,reloader' },
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

const results: SizeResult[] = [];
const requests = async (group: BenchGroup, from: number, to: number): Promise<RequestCount> => await countRequests(auditLog, group, from, to + 2000);

async function regenerate(): Promise<number> {
  const start = Date.now();
  log('regenerating the service-account signing key (kube-apiserver and kube-controller-manager restart)');
  try {
    await cluster.restart({ newSigningKey: true });
  } catch (err) {
    // The harness gives kube-apiserver 60 s to serve again; at the default size on a loaded machine it fills its
    // watch cache for longer. The regeneration is done (new key, kube-apiserver started): wait on, then start
    // kube-controller-manager as the restart would have.
    if (!/readyz \(restart\)/.test((err as Error).message)) throw err;
    log('kube-apiserver not ready 60 s after its restart; waiting up to 15 minutes more');
    await waitFor('kube-apiserver /readyz after the regeneration', async () => (await cluster.kubectl(['get', '--raw', '/readyz'])).code === 0, {
      timeoutMs: 900_000,
      intervalMs: 1000,
    });
    await cluster.startControllerManager();
  }
  log(`kube-apiserver and kube-controller-manager serve again after ${Math.round((Date.now() - start) / 1000)} s`);
  return start;
}

async function operatorRun(size: Size): Promise<ContenderResult> {
  const started = Date.now();
  const leader = startShippedOperator(kc.operator);
  const readyz = async (url: Promise<string>): Promise<boolean> => (await fetch(await url).catch(() => undefined))?.status === 200;
  try {
    await waitFor('the operator /readyz (its AuthPolicy cache synced)', () => readyz(leader.readyUrl), { timeoutMs: 600_000, intervalMs: 200 });
    const readySeconds = (Date.now() - started) / 1000;
    const metrics = async (): Promise<string> => await (await fetch(await leader.metricsUrl)).text();
    await waitFor(
      "the operator's first successful reconcile",
      async () => {
        const r = counterBy(await metrics(), 'controller_runtime_reconcile_total', ['result']);
        return (r.success ?? 0) + (r.requeue_after ?? 0) >= 1;
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    const statusSeconds = (Date.now() - started) / 1000;
    // The idle period starts once every cache the leader reads has synced: /readyz and the first status come
    // before (each area reports once its own caches sync), and the initial lists of Pods and Secrets are startup,
    // not idle. Argo Rollouts is not installed here: that cache retries and never syncs.
    await waitFor(
      "the leader's caches to sync",
      async () => {
        const synced = Object.entries(counterBy(await metrics(), 'authpolicy_informer_synced', ['informer'])).filter(([name]) => name !== 'rollouts');
        return synced.length > 1 && synced.every(([, v]) => v === 1);
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    const syncedSeconds = (Date.now() - started) / 1000;
    log(
      `operator ready after ${readySeconds.toFixed(1)} s, first status after ${statusSeconds.toFixed(1)} s, caches synced after ${syncedSeconds.toFixed(1)} s`,
    );
    const standby = startShippedOperator(kc.standby);
    try {
      await waitFor('the standby /readyz', () => readyz(standby.readyUrl), { timeoutMs: 600_000, intervalMs: 200 });
      log(`idle for ${preset.idleSeconds} s`);
      const idleFrom = Date.now();
      const [m0, c0] = [await metrics(), await cpuSeconds(leader.pid)];
      await sleep(preset.idleSeconds * 1000); // the measurement period itself, not a wait for a condition
      const [m1, c1] = [await metrics(), await cpuSeconds(leader.pid)];
      const idleTo = Date.now();
      const idleCpu = (c1 ?? 0) - (c0 ?? 0);
      const idle = {
        seconds: preset.idleSeconds,
        requests: await requests('bench:operator', idleFrom, idleTo),
        requestsFromMetric: diff(
          counterBy(m1, 'authpolicy_api_requests_total', ['verb', 'resource']),
          counterBy(m0, 'authpolicy_api_requests_total', ['verb', 'resource']),
        ),
        cpuSeconds: Math.round(idleCpu * 100) / 100,
        cpuPercentOfCore: Math.round((idleCpu / preset.idleSeconds) * 1000) / 10,
        peakRssMiB: MiB((await peakRss(leader.pid)) ?? 0),
        heapUsedMiB: MiB(gauge(m1, 'nodejs_heap_size_used_bytes') ?? 0),
        heapTotalMiB: MiB(gauge(m1, 'nodejs_heap_size_total_bytes') ?? 0),
        standbyPeakRssMiB: MiB((await peakRss(standby.pid)) ?? 0),
      };
      log(
        `idle: ${idle.requests.total} requests, ${idle.cpuPercentOfCore} % of a core, peak RSS ${idle.peakRssMiB} MiB (standby ${idle.standbyPeakRssMiB} MiB)`,
      );
      const base = await baseline(admin);
      const r0 = await metrics().catch(() => '');
      let start: number;
      try {
        start = await regenerate();
      } catch (err) {
        return {
          startToReadySeconds: round(readySeconds),
          startToFirstStatusSeconds: round(statusSeconds),
          startToCachesSyncedSeconds: round(syncedSeconds),
          idle,
          error: `rotation: ${(err as Error).message}`,
        };
      }
      const rotation = await waitRotation(admin, base, start, preset.rotationTimeoutSeconds * 1000, settleMs(size), (m) => {
        log(`operator: ${m}`);
      });
      const r1 = await metrics().catch(() => '');
      const rotationRequests = await requests('bench:operator', start, Date.now());
      const standbyLed = standby.output().includes('"message":"became leader"');
      const standbyPeak = MiB((await peakRss(standby.pid)) ?? 0);
      return {
        startToReadySeconds: round(readySeconds),
        startToFirstStatusSeconds: round(statusSeconds),
        startToCachesSyncedSeconds: round(syncedSeconds),
        idle,
        rotation: {
          ...rotation,
          requests: rotationRequests,
          requestsFromMetric: diff(
            counterBy(r1, 'authpolicy_api_requests_total', ['verb', 'resource']),
            counterBy(r0, 'authpolicy_api_requests_total', ['verb', 'resource']),
          ),
        },
        peakRssMiB: MiB((await peakRss(leader.pid)) ?? 0),
        // A standby that took the lease (the leader could not renew it in time, e.g. while the bench's own
        // TokenReviews saturate the API server) held every cache: its peak is a leader's, so the standby's
        // figure is then the one from the idle period, and the takeover is reported.
        ...(standbyLed
          ? { standbyPeakRssMiB: idle.standbyPeakRssMiB, standbyLed: true, standbyLedPeakRssMiB: standbyPeak }
          : { standbyPeakRssMiB: standbyPeak }),
        cpuSeconds: round((await cpuSeconds(leader.pid)) ?? 0),
      };
    } finally {
      await standby.stop();
      await writeFile(join(work, `operator-standby-${size.name}.log`), standby.output());
    }
  } finally {
    await leader.stop();
    // Kept with the audit log (KEEP_CLUSTER=1): what each status write changed, what failed.
    await writeFile(join(work, `operator-${size.name}.log`), leader.output());
  }
}

const settleMs = (size: Size): number => Math.min(30_000, 5000 + size.deployments * 10);

async function externalRun(name: 'kubectl' | 'floor', size: Size): Promise<ContenderResult> {
  const base = await baseline(admin);
  const start = await regenerate();
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
  const rotation = await waitRotation(admin, base, start, preset.rotationTimeoutSeconds * 1000, settleMs(size), (m) => {
    log(`${name}: ${m}`);
  });
  const usage = await run.finish();
  if (usage.exit !== 0) log(`${name} exited with ${usage.exit}: ${(await run.log()).slice(-1500)}`);
  return {
    rotation: { ...rotation, requests: await requests(`bench:${name}`, start, Date.now()) },
    peakRssMiB: MiB(Math.max(usage.treePeakRssBytes, usage.maxRssBytes ?? 0)),
    largestProcessRssMiB: MiB(usage.maxRssBytes ?? 0),
    cpuSeconds: usage.cpuSeconds === undefined ? undefined : round(usage.cpuSeconds),
    exit: usage.exit,
  };
}

async function reloaderRun(binary: string, size: Size): Promise<ContenderResult> {
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
  const base = await baseline(admin);
  const start = await regenerate();
  const blanker = runExternal(
    'blanker',
    process.execPath,
    [join(ROOT, 'bench/contenders/floor.ts'), `--kubeconfig=${kc.blanker}`, `--parallelism=${parallelism}`, '--blank-only'],
    work,
  );
  let rotation: RotationResult;
  try {
    rotation = await waitRotation(admin, base, start, preset.rotationTimeoutSeconds * 1000, settleMs(size), (m) => {
      log(`reloader: ${m}`);
    });
  } finally {
    await blanker.finish();
  }
  const usage = await run.finish();
  const own = await requests('bench:reloader', start, Date.now());
  const blanks = await requests('bench:blanker', start, Date.now());
  return {
    rotation: { ...rotation, requests: { ...own, total: own.total + blanks.total }, reloaderRequests: own.total, blankerRequests: blanks.total },
    peakRssMiB: MiB(Math.max(usage.treePeakRssBytes, usage.maxRssBytes ?? 0)),
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

try {
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: policy(parallelism) });
  let previous: Size | undefined;
  for (const size of preset.sizes) {
    const t0 = Date.now();
    log(`generating ${size.name}`);
    await generate(admin, previous, size, 8, log);
    await waitSettled(admin, size, 3_600_000, log);
    const sr: SizeResult = { size, setupSeconds: round((Date.now() - t0) / 1000), contenders: {} };
    results.push(sr);
    for (const c of contenders) {
      log(`— ${c} on ${size.name}`);
      try {
        if (c === 'operator') sr.contenders.operator = await operatorRun(size);
        else if (c === 'kubectl' || c === 'floor') sr.contenders[c] = await externalRun(c, size);
        else if (c === 'reloader' && reloader) sr.contenders.reloader = await reloaderRun(reloader, size);
      } catch (err) {
        log(`${c} failed: ${(err as Error).message}`);
        sr.contenders[c] = { error: (err as Error).message };
      }
      await writeResults(); // after every contender, so a run cut short keeps what it measured
      // the next contender starts from a cluster where everything is rolled out
      await waitSettled(admin, size, 600_000, () => undefined);
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
  const date = new Date().toISOString().slice(0, 10);
  const out: BenchResult = {
    preset: preset.name,
    date,
    startedAt: new Date(began).toISOString(),
    durationSeconds: round((Date.now() - began) / 1000),
    parallelism,
    operatorNodeOptions: operatorNodeOptions(),
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
  for (const s of out.sizes) addRatios(s);
  await mkdir(values.out, { recursive: true });
  const base = join(values.out, `${date}-${preset.name}${process.env.BENCH_OPERATOR_NODE_OPTIONS !== undefined ? '-v8flags' : ''}`);
  await writeFile(`${base}.json`, JSON.stringify(out, null, 2) + '\n');
  await writeFile(`${base}.md`, markdown(out));
  log(`results: ${base}.json and ${base}.md`);
}

function addRatios(s: SizeResult): void {
  const op = s.contenders.operator;
  if (!op?.rotation) return;
  const ratio = (other: ContenderResult | undefined): { requests?: number; seconds?: number; peakRss?: number } | undefined =>
    other?.rotation
      ? {
          requests: round2(op.rotation!.requests.total / Math.max(1, other.rotation.requests.total)),
          seconds: round2(op.rotation!.seconds / Math.max(0.1, other.rotation.seconds)),
          peakRss: other.peakRssMiB ? round2((op.peakRssMiB ?? 0) / other.peakRssMiB) : undefined,
        }
      : undefined;
  op.ratioToFloor = ratio(s.contenders.floor);
  op.ratioToKubectl = ratio(s.contenders.kubectl);
  op.ratioToReloader = ratio(s.contenders.reloader);
}

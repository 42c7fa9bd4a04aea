// What loading each module costs before any request: for each specifier, a fresh
// Node process (under config/manager's NODE_OPTIONS, as shipped) imports it, collects garbage
// (--expose-gc) and reports RSS, its anonymous part (RssAnon: the process's own memory) and
// its file part (RssFile: the node executable's pages it touched, shared by every Node process),
// and V8 heap used, minus a bare process's. Run after `npm run build` (it imports dist/):
//   node bench/module-cost.ts            # a table on stdout
//   node bench/module-cost.ts --json
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { operatorNodeOptions, ROOT } from './contenders/operator.ts';

const MODULES = [
  'undici',
  'prom-client',
  'winston',
  'commander',
  'yaml',
  'jose',
  `${ROOT}/dist/kube/client.js`,
  `${ROOT}/dist/runtime/metrics.js`,
  `${ROOT}/dist/runtime/log.js`,
  `${ROOT}/dist/policy/reconciler.js`,
  `${ROOT}/dist/cli/run.js`,
];
const NODE_OPTIONS = operatorNodeOptions();

interface Cost {
  module: string;
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  ms: number;
}

const probe = `
const t0 = performance.now();
const spec = process.argv[1];
if (spec) await import(spec);
const ms = performance.now() - t0;
for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
const m = process.memoryUsage();
const st = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
const kb = (k) => Number(new RegExp(k + ':\\\\s+(\\\\d+)').exec(st)?.[1] ?? 0) * 1024;
console.log(JSON.stringify({ rss: m.rss, anon: kb('RssAnon'), file: kb('RssFile'), heapUsed: m.heapUsed, external: m.external, ms }));`;

interface Sample {
  rss: number;
  anon: number;
  file: number;
  heapUsed: number;
  external: number;
  ms: number;
}

async function measure(spec: string): Promise<Sample> {
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', probe, spec], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS },
    });
    samples.push(JSON.parse(stdout) as Sample);
  }
  samples.sort((a, b) => a.rss - b.rss);
  return samples[1] as Sample; // the median of three
}

const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const bare = await measure('');
const costs: Cost[] = [];
for (const m of MODULES) {
  const r = await measure(m);
  costs.push({
    module: m.replace(`${ROOT}/`, ''),
    rssMiB: mib(r.rss - bare.rss),
    anonMiB: mib(r.anon - bare.anon),
    fileMiB: mib(r.file - bare.file),
    heapUsedMiB: mib(r.heapUsed - bare.heapUsed),
    externalMiB: mib(r.external - bare.external),
    ms: Math.round(r.ms),
  });
}
if (process.argv.includes('--json')) {
  console.log(
    JSON.stringify(
      {
        node: process.version,
        NODE_OPTIONS,
        bare: { rssMiB: mib(bare.rss), anonMiB: mib(bare.anon), fileMiB: mib(bare.file), heapUsedMiB: mib(bare.heapUsed) },
        costs,
      },
      null,
      2,
    ),
  );
} else {
  console.log(
    `bare node ${process.version} (NODE_OPTIONS=${NODE_OPTIONS}): RSS ${mib(bare.rss)} MiB (anonymous ${mib(bare.anon)}, file ${mib(bare.file)}), heap used ${mib(bare.heapUsed)} MiB; each row is one import in a fresh process, after GC, minus that`,
  );
  console.log('| module | + RSS MiB | + anonymous MiB | + file MiB | + heap used MiB | + external MiB | import ms |\n|---|---|---|---|---|---|---|');
  for (const c of costs) console.log(`| ${c.module} | ${c.rssMiB} | ${c.anonMiB} | ${c.fileMiB} | ${c.heapUsedMiB} | ${c.externalMiB} | ${c.ms} |`);
}

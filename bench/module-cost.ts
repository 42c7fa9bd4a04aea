// What loading each module costs before any request: for each specifier, a fresh
// Node process imports it, collects garbage (--expose-gc) and reports RSS and V8 heap
// used, minus a bare process's. Run after `npm run build` (it imports dist/):
//   node bench/module-cost.ts            # a table on stdout
//   node bench/module-cost.ts --json
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from './contenders/operator.ts';

const MODULES = [
  '@kubernetes/client-node',
  '@kubernetes/client-node/dist/config.js',
  '@kubernetes/client-node/dist/gen/http/http.js',
  '@kubernetes/client-node/dist/gen/index.js',
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

interface Cost {
  module: string;
  rssMiB: number;
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
console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, ms }));`;

async function measure(spec: string): Promise<{ rss: number; heapUsed: number; external: number; ms: number }> {
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', probe, spec], { cwd: ROOT });
    samples.push(JSON.parse(stdout) as { rss: number; heapUsed: number; external: number; ms: number });
  }
  samples.sort((a, b) => a.rss - b.rss);
  return samples[1] as { rss: number; heapUsed: number; external: number; ms: number }; // the median of three
}

const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const bare = await measure('');
const costs: Cost[] = [];
for (const m of MODULES) {
  const r = await measure(m);
  costs.push({
    module: m.replace(`${ROOT}/`, ''),
    rssMiB: mib(r.rss - bare.rss),
    heapUsedMiB: mib(r.heapUsed - bare.heapUsed),
    externalMiB: mib(r.external - bare.external),
    ms: Math.round(r.ms),
  });
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ node: process.version, bare: { rssMiB: mib(bare.rss), heapUsedMiB: mib(bare.heapUsed) }, costs }, null, 2));
} else {
  console.log(
    `bare node ${process.version}: RSS ${mib(bare.rss)} MiB, heap used ${mib(bare.heapUsed)} MiB; each row is one import in a fresh process, after GC, minus that`,
  );
  console.log('| module | + RSS MiB | + heap used MiB | + external MiB | import ms |\n|---|---|---|---|---|');
  for (const c of costs) console.log(`| ${c.module} | ${c.rssMiB} | ${c.heapUsedMiB} | ${c.externalMiB} | ${c.ms} |`);
}

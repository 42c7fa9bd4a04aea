// The test command: runs every uvu test file in its own process (unit and
// integration files two at a time; e2e files TEST_E2E_PARALLEL at a time, 2 by
// default: each starts its own control plane, and most of an e2e file's time is
// waiting on it, so two fit a 2-core machine; longest first, by the durations the
// last runs here took: test/schedule.ts), kills whatever a file left behind, and
// ends with one line "N passed, N failed, N skipped" that CI reads.
//
// The tiers, by folder:
//   test/unit/         pure: no Go, no control plane, no writes into src/, no waiting on the clock (`make unit`)
//   test/integration/  needs a tool built from Go modules (e.g. the Argo CD Lua runner), no control plane
//   test/e2e/          a real control plane each (binaries built by test/cluster/build-binaries.sh)
//   test/image/        the OCI image under runc: only when named, or with TEST_IMAGE=1 (CI)
//   test/verify/       the architecture rules (lint probes written under src/): `make verify`, or when named
//
//   node test/run.ts                 unit, integration and e2e (what `make test` runs)
//   node test/run.ts test/unit/      files whose path contains "test/unit/" (what `make unit` runs)
//   node test/run.ts e2e/harness     likewise
//
// With TOOLS_DONE_DIR (a cold .ci/run, test/build-tools.sh building beside it), every
// file waits only for the tools it needs (test/tools-needed.ts), not for all of them.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { durationsFile, longestFirst, readDurations, writeDurations } from './schedule.ts';
import { nextRunnable, toolsNeededByFile, toolState, type ToolState } from './tools-needed.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 20 * 60_000);

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

// uvu prints "Total: N / Passed: N / Skipped: N" once per process.
function parseSummary(output: string): { total: number; passed: number; skipped: number } | undefined {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
  const num = (label: string): number | undefined => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const total = num('Total');
  const passed = num('Passed');
  if (total === undefined || passed === undefined) return undefined;
  return { total, passed, skipped: num('Skipped') ?? 0 };
}

async function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  const rel = relative(root, file);
  const child = spawn(process.execPath, [file], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => {
    output += `\n[test/run] ${rel} exceeded ${FILE_TIMEOUT_MS} ms and was killed\n`;
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      /* gone */
    }
  }, FILE_TIMEOUT_MS);
  const code = await new Promise<number>((resolve) =>
    child.on('close', (c) => {
      resolve(c ?? 1);
    }),
  );
  clearTimeout(timer);
  // Whatever the file started and left running (its process group) goes now.
  try {
    process.kill(-(child.pid ?? 0), 'SIGKILL');
  } catch {
    /* nothing left */
  }
  const summary = parseSummary(output);
  const ms = Date.now() - started;
  let result: FileResult;
  if (!summary) {
    result = { file: rel, passed: 0, failed: 1, skipped: 0, ms };
    output += `\n[test/run] ${rel} printed no uvu summary (exit ${code}): counted as 1 failure\n`;
  } else {
    const failed = summary.total - summary.passed - summary.skipped;
    // A file whose suites passed but whose process failed (e.g. an error in after()) still fails.
    result = { file: rel, passed: summary.passed, failed: failed > 0 ? failed : code === 0 ? 0 : 1, skipped: summary.skipped, ms };
  }
  process.stdout.write(`\n=== ${rel} (${(ms / 1000).toFixed(1)} s): ${result.passed} passed, ${result.failed} failed\n${output.trimEnd()}\n`);
  return result;
}

// Each worker takes the first file, in order, whose tools are built (always, unless TOOLS_DONE_DIR: a cold
// .ci/run, test/build-tools.sh building beside the tests); a file whose tool failed to build fails at once,
// naming it; with nothing runnable, the worker waits for a build.
const TOOLS_WAIT_MS = 90 * 60_000;
async function runPool(files: string[], width: number, state: (tool: string) => ToolState): Promise<FileResult[]> {
  const queue = files.map((file) => ({ file, needs: toolsNeededByFile(root, file) }));
  const deadline = Date.now() + TOOLS_WAIT_MS;
  const results: FileResult[] = [];
  const worker = async (): Promise<void> => {
    while (queue.length > 0) {
      const i = nextRunnable(
        queue.map((q) => q.needs),
        state,
      );
      if (i === undefined) {
        if (Date.now() > deadline) {
          for (const q of queue.splice(0))
            results.push(notRun(q.file, `its tools (${q.needs.join(', ')}) were not built within ${TOOLS_WAIT_MS / 60_000} min`));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      const [{ file, needs }] = queue.splice(i, 1) as [{ file: string; needs: string[] }];
      const failedTool = needs.find((t) => state(t) === 'failed');
      results.push(failedTool ? notRun(file, `${failedTool} failed to build (its log is above, from test/build-tools.sh)`) : await runFile(file));
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

function notRun(file: string, why: string): FileResult {
  const rel = relative(root, file);
  process.stdout.write(`\n=== ${rel}: not run, counted as 1 failure: ${why}\n`);
  return { file: rel, passed: 0, failed: 1, skipped: 0, ms: 0 };
}

const filters = process.argv.slice(2);
const matches = (f: string): boolean => filters.length === 0 || filters.some((p) => relative(root, f).includes(p));
const tier = (name: string): string[] => findTests(join(root, 'test', name)).filter(matches);
const unit = tier('unit');
const integration = tier('integration');
const e2e = tier('e2e');
// test/image (the OCI image, run under runc as root; `make test-image`) only when named or with TEST_IMAGE=1 (CI).
const image = filters.length > 0 || process.env.TEST_IMAGE === '1' ? tier('image') : [];
// test/verify (lint probes written under src/) runs in `make verify`, which CI runs first; here only when named.
const verify = filters.length > 0 ? tier('verify') : [];
const E2E_PARALLEL = Number(process.env.TEST_E2E_PARALLEL ?? 2);
if (!Number.isInteger(E2E_PARALLEL) || E2E_PARALLEL < 1)
  throw new Error(`TEST_E2E_PARALLEL: "${process.env.TEST_E2E_PARALLEL}" is not a whole number of 1 or more`);
console.log(
  `node ${process.version}: ${unit.length} unit, ${integration.length + verify.length} integration and verify, ${e2e.length + image.length} e2e test files (${E2E_PARALLEL} at a time)`,
);

const record = durationsFile();
const durations = readDurations(record);
const slowFirst = longestFirst(
  [...e2e, ...image].map((f) => relative(root, f)),
  durations,
).map((f) => join(root, f));
const doneDir = process.env.TOOLS_DONE_DIR;
const results = doneDir
  ? await runPool([...verify, ...unit, ...integration, ...slowFirst], E2E_PARALLEL, (tool) => toolState(doneDir, tool))
  : [...(await runPool([...verify, ...unit, ...integration], 2, () => 'ok')), ...(await runPool(slowFirst, E2E_PARALLEL, () => 'ok'))];
// Durations of files that ran to the end (a failed file's time says little about the next run).
writeDurations(record, durations, Object.fromEntries(results.filter((r) => r.failed === 0).map((r) => [r.file, r.ms])));
const sum = (k: 'passed' | 'failed' | 'skipped'): number => results.reduce((n, r) => n + r[k], 0);
console.log('\nper file:');
for (const r of results) console.log(`  ${r.failed > 0 ? 'FAIL' : 'ok  '} ${r.file}  ${r.passed} passed, ${r.failed} failed  ${(r.ms / 1000).toFixed(1)} s`);
const passed = sum('passed');
const failed = sum('failed');
const skipped = sum('skipped');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;

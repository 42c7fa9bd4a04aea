// Where the operator allocates: a sampling allocation profile that counts objects the collector has already freed
// (what makes garbage-collection work, which --heap-prof leaves out), written when the process exits as the
// functions allocating the most, by themselves and with what they called.
//
//   BENCH_OPERATOR_NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size-percentage=57 --import=$PWD/bench/alloc-sample.ts" \
//     bash bench/at-commit.sh --sizes=2 --contenders=operator --no-limits
//
// Each replica writes ${ALLOC_SAMPLE_DIR:-/tmp}/alloc-<pid>.txt. A profiling aid only: sampling every 16 KiB costs
// CPU, so a run made with it is not one the README quotes.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

const session = new Session();
session.connect();
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16_384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});

const where = (n: SampleNode): string =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

/** Bytes by function: allocated by it (self), and by it and what it called, each function once per stack (inclusive). */
function tally(head: SampleNode): { total: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const walk = (n: SampleNode, stack: ReadonlySet<string>): number => {
    const name = where(n);
    self.set(name, (self.get(name) ?? 0) + n.selfSize);
    const inner = new Set(stack).add(name);
    const bytes = n.children.reduce((sum, c) => sum + walk(c, inner), n.selfSize);
    if (!stack.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + bytes);
    return bytes;
  };
  return { total: walk(head, new Set()), self, inclusive };
}

const table = (bytes: Map<string, number>, total: number): string =>
  [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 70)
    .map(([name, n]) => `${(n / 1e6).toFixed(1).padStart(9)} MB ${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`)
    .join('\n');

let written = false;
function write(): void {
  if (written) return;
  written = true;
  // The main thread's own session answers synchronously: this runs to the end inside the exit handler.
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return;
    const { total, self, inclusive } = tally((result.profile as unknown as { head: SampleNode }).head);
    const file = `${process.env.ALLOC_SAMPLE_DIR ?? '/tmp'}/alloc-${process.pid}.txt`;
    writeFileSync(file, `allocated ${(total / 1e6).toFixed(1)} MB (sampled)\n## self\n${table(self, total)}\n## inclusive\n${table(inclusive, total)}\n`);
  });
}
process.on('exit', write);

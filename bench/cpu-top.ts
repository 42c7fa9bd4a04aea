// Where the operator's CPU goes: the functions with the most self time (or, --inclusive, total time) in a V8 CPU profile.
//
//   BENCH_OPERATOR_NODE_OPTIONS="--max-semi-space-size=1 --cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --quick --contenders=operator
//   node bench/cpu-top.ts /tmp/prof/CPU.*.cpuprofile [--top=30] [--inclusive]
//
// --inclusive ranks functions by the time spent in them and everything they called (each function counted
// once per sample, however deep its recursion): where a reconcile's time goes, not only its leaves.
//
// (--cpu-prof writes the profile when the process exits; Chrome DevTools opens the same file.)
// This is how the clock consensus was found costing 11 of 20 CPU seconds at 1,000 Nodes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, inclusive: { type: 'boolean', default: false } },
});
if (positionals.length === 0) throw new Error('usage: node bench/cpu-top.ts <file.cpuprofile>... [--top=30] [--inclusive]');
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((c): [number, number] => [c, n.id])));
  const name = (frame: ProfileNode['callFrame']): string =>
    `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((sample, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const stack = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = values.inclusive ? parent.get(id) : undefined) {
      const frame = byId.get(id)?.callFrame;
      stack.add(frame ? name(frame) : '?');
    }
    for (const where of stack) self.set(where, (self.get(where) ?? 0) + us);
  });
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
  for (const [where, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${where}`);
  }
}

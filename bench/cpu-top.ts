// Where the operator's CPU goes: the functions with the most self time (or, --inclusive, total time) in a V8 CPU profile.
//
//   BENCH_OPERATOR_NODE_OPTIONS="--max-semi-space-size=1 --cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --quick --contenders=operator
//   node bench/cpu-top.ts /tmp/prof/CPU.*.cpuprofile [--top=30] [--inclusive]
//
// --inclusive ranks functions by the time spent in them and everything they called (each function counted
// once per sample, however deep its recursion): where a reconcile's time goes, not only its leaves.
// --by-part apportions the busy time to the operator's parts instead: each sample goes to the first part in PARTS
// found anywhere on its stack (the collector, log lines, each area's reconcile, the informers, HTTP), else "other".
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
  options: { top: { type: 'string', default: '30' }, inclusive: { type: 'boolean', default: false }, 'by-part': { type: 'boolean', default: false } },
});

/** The operator's parts, first match wins: a log line written by a reconcile counts as a log line. */
const PARTS: [part: string, has: (url: string, fn: string) => boolean][] = [
  ['garbage collector', (_u, fn) => fn === '(garbage collector)'],
  ['log lines (winston)', (u) => u.includes('winston') || u.includes('logform')],
  ['reconcile: legacy tokens', (u) => u.includes('/areas/legacytokens/')],
  ['reconcile: bound tokens', (u) => u.includes('/areas/boundtokens/')],
  ['reconcile: clock', (u) => u.includes('/areas/clock/')],
  ['reconcile: node authorization', (u) => u.includes('/areas/nodeauth/')],
  ['reconcile: status, policy', (u) => u.includes('/policy/')],
  ['informers (events, lists)', (u) => u.includes('runtime/informer')],
  ['HTTP (client, undici, HTTP/2)', (u) => u.includes('kube/client') || u.includes('undici') || u.includes('http2')],
];
const IDLE = '(idle)';
const partOf = (frames: ProfileNode['callFrame'][]): string => {
  if (frames[0]?.functionName === IDLE) return IDLE;
  for (const [part, has] of PARTS) if (frames.some((f) => has(f.url, f.functionName))) return part;
  return 'other';
};
if (positionals.length === 0) throw new Error('usage: node bench/cpu-top.ts <file.cpuprofile>... [--top=30] [--inclusive | --by-part]');
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((c): [number, number] => [c, n.id])));
  const name = (frame: ProfileNode['callFrame']): string =>
    `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  const self = new Map<string, number>();
  let total = 0;
  if (values['by-part']) {
    profile.samples.forEach((sample, i) => {
      const frames: ProfileNode['callFrame'][] = [];
      for (let id: number | undefined = sample; id !== undefined; id = parent.get(id))
        frames.push(byId.get(id)?.callFrame ?? { functionName: '?', url: '', lineNumber: 0 });
      const part = partOf(frames);
      self.set(part, (self.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    const busy = [...self].reduce((sum, [part, us]) => (part === IDLE ? sum : sum + us), 0);
    console.log(`${file}: the main thread busy ${(busy / 1e6).toFixed(1)} s`);
    for (const [part, us] of [...self].filter(([part]) => part !== IDLE).sort((a, b) => b[1] - a[1])) {
      console.log(`${(us / 1e6).toFixed(1).padStart(7)} s ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${part}`);
    }
    continue;
  }
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

// The chart's values and config/manager's heap flag, without helm or a cluster:
// every value in values.yaml is described by values.schema.json (so a typo or a
// wrong type is refused, naming the field), and the V8 heap flag config/manager
// ships is one this Node honours from NODE_OPTIONS, sizing the old generation from
// the memory the process may use (the cgroup limit in a pod).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const test = suite('chart values');
const ROOT = new URL('../../', import.meta.url);
const read = async (path: string): Promise<unknown> => parse(await readFile(new URL(path, ROOT), 'utf8')) as unknown;

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  items?: Schema;
  definitions?: Record<string, Schema>;
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every path in values.yaml, and the schema node that checks it (undefined: nothing does). */
function unchecked(values: Record<string, unknown>, schema: Schema, root: Schema, path = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const here = path ? `${path}.${k}` : k;
    let node = schema.properties?.[k];
    if (node?.$ref) node = root.definitions?.[node.$ref.replace('#/definitions/', '')];
    if (!node) {
      out.push(here);
      continue;
    }
    const constrained = node.type ?? node.oneOf ?? node.enum ?? node.const ?? node.properties;
    if (constrained === undefined) out.push(`${here} (no type)`);
    // a map of free keys (labels, resources) stops the walk; a described object is walked into
    if (isObject(v) && node.properties) out.push(...unchecked(v, node, root, here));
  }
  return out;
}

test('every value in values.yaml is checked by values.schema.json, which refuses unknown keys', async () => {
  const values = (await read('charts/authpolicy-operator/values.yaml')) as Record<string, unknown>;
  const schema = JSON.parse(await readFile(new URL('charts/authpolicy-operator/values.schema.json', ROOT), 'utf8')) as Schema;
  assert.equal(unchecked(values, schema, schema), []);
  assert.is(schema.additionalProperties, false, 'a misspelt top-level value is refused');
  assert.ok(schema.properties?.global, 'global is accepted (the chart as a subchart)');
  const props: Record<string, Schema | undefined> = schema.properties ?? {};
  for (const k of ['heap', 'serviceAccount', 'podDisruptionBudget', 'leaderElection', 'affinity'])
    assert.is(props[k]?.additionalProperties, false, `${k}: a misspelt key is refused`);
});

interface Manager {
  spec: {
    template: { spec: { containers: { env: { name: string; value?: string }[]; resources: { limits: { memory: string } } }[] } };
  };
}

test("config/manager's NODE_OPTIONS size V8's old generation as a share of the memory the process may use", async () => {
  const manager = (await read('config/manager/manager.yaml')) as Manager;
  const container = manager.spec.template.spec.containers[0];
  const options = container?.env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  const percent = Number(/--max-old-space-size-percentage=(\d+)/.exec(options)?.[1]);
  assert.ok(percent >= 40 && percent <= 75, `a share of the limit, not a fixed size: ${options}`);
  assert.not.match(options, /--max-old-space-size=/, 'no fixed size (it would not follow the memory limit)');
  // Under the manifest's limit: about the 256 MiB the bench measured with (bench/results).
  const limitMiB = Number(/^(\d+)Mi$/.exec(container?.resources.limits.memory ?? '')?.[1]);
  assert.ok(Math.abs((limitMiB * percent) / 100 - 256) < 8, `${percent} % of ${limitMiB} MiB is about 256 MiB`);
  // This Node honours the flag from NODE_OPTIONS (a flag it did not know would fail the start).
  const script =
    'const v8=require("node:v8");console.log(JSON.stringify({limit:v8.getHeapStatistics().heap_size_limit,constrained:process.constrainedMemory()}))';
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, NODE_OPTIONS: options } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node with NODE_OPTIONS=${options}: ${stderr}`));
      else resolve(stdout);
    });
  });
  const { limit, constrained } = JSON.parse(out) as { limit: number; constrained: number };
  const available = constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
  const expectedMiB = ((available / 2 ** 20) * percent) / 100;
  const gotMiB = limit / 2 ** 20;
  // heap_size_limit is the old generation plus the young one (a few MiB with --max-semi-space-size=1)
  assert.ok(
    gotMiB >= expectedMiB - 2 && gotMiB <= expectedMiB + 16,
    `heap limit ${gotMiB.toFixed(0)} MiB for ${percent} % of ${(available / 2 ** 20).toFixed(0)} MiB`,
  );
});

test.run();

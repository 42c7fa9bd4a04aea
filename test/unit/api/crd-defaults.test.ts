// The CRD and the code must agree: resolveSpec fills exactly the CRD's defaults, accepts and refuses the bounds,
// enums and patterns it checks as the CRD does, and src/api repeats none of them (they are read from the CRD through
// the generated SPEC_FIELDS). The schema is the shipped CRD, read as `check -f` reads it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { TYPE_NAMES } from '../../../scripts/generate-api-types.ts';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { parseDuration } from '../../../src/api/duration.ts';
import type { AuthPolicySpec } from '../../../src/api/types.ts';
import { applyDefaults, type SchemaNode } from '../../../src/api/validate.ts';
import { shippedSchema } from '../../../src/cli/check.ts';

const test = suite('CRD and code agree');
const ROOT = new URL('../../../', import.meta.url);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every field of the spec schema, by path (`[]`: a list's items), with its node. */
function fields(node: SchemaNode, path: string): [string, SchemaNode][] {
  const children = Object.entries(node.properties ?? {}).flatMap(([k, child]) => fields(child, `${path}.${k}`));
  return [[path, node], ...children, ...(node.items ? fields(node.items, `${path}[]`) : [])];
}

async function specFields(): Promise<[string, SchemaNode][]> {
  const spec = (await shippedSchema()).properties?.spec;
  if (!spec) throw new Error('crds/authpolicy.yaml has no spec schema');
  return fields(spec, 'spec');
}

/** A spec with `value` at `path` (spec.a.b), for paths outside lists. */
function specWith(path: string, value: unknown): AuthPolicySpec {
  const keys = path.split('.').slice(1);
  const out: Obj = {};
  let at = out;
  keys.forEach((k, i) => {
    at = (at[k] = i === keys.length - 1 ? value : {}) as Obj;
  });
  return out;
}

/** A spec with one minimal item in each list whose items have defaults (restartWindows[].timeZone). */
const WITH_ITEMS: AuthPolicySpec = { legacyTokens: { restartWindows: [{ start: '01:00', end: '02:00' }] } };
const LISTS_WITH_ITEMS = ['spec.legacyTokens.restartWindows'];

/** What resolveSpec holds at a CRD path: the field itself, or its parsed duration (`…Ms`). */
function resolvedAt(resolved: unknown, path: string): { found: boolean; value: unknown; duration: boolean } {
  let at: unknown = resolved;
  const keys = path.replaceAll('[]', '.0').split('.').slice(1);
  for (const [i, k] of keys.entries()) {
    if (Array.isArray(at)) {
      at = at[Number(k)];
      continue;
    }
    if (!isObj(at)) return { found: false, value: undefined, duration: false };
    if (i === keys.length - 1 && !(k in at) && `${k}Ms` in at) return { found: true, value: at[`${k}Ms`], duration: true };
    if (!(k in at)) return { found: false, value: undefined, duration: false };
    at = at[k];
  }
  return { found: true, value: at, duration: false };
}

test('every default in the CRD is the value resolveSpec fills (and check -f fills)', async () => {
  const all = await specFields();
  const resolved = resolveSpec(WITH_ITEMS);
  const mismatches: string[] = [];
  const checked = all.filter(([, node]) => node.default !== undefined && !isObj(node.default));
  for (const [path, node] of checked) {
    if (path.includes('[]') && !LISTS_WITH_ITEMS.some((p) => path.startsWith(`${p}[]`))) {
      mismatches.push(`${path}: add a minimal item for its list to WITH_ITEMS`);
      continue;
    }
    const { found, value, duration } = resolvedAt(resolved, path);
    const want = duration ? parseDuration(node.default as string) : node.default;
    if (!found) mismatches.push(`${path}: the CRD defaults it to ${JSON.stringify(node.default)}; resolveSpec has no such field`);
    else assert.equal(value, want, `${path}: the CRD defaults it to ${JSON.stringify(node.default)}, resolveSpec to ${JSON.stringify(value)}`);
  }
  assert.equal(mismatches, []);
  assert.ok(checked.length >= 14, `the defaults are found (${checked.length})`);
  const schema = await shippedSchema();
  const defaulted = applyDefaults(schema, { spec: WITH_ITEMS }) as { spec: AuthPolicySpec };
  assert.equal(resolveSpec(defaulted.spec), resolved, 'a spec the offline validator (check -f) defaulted resolves the same');
});

test('resolveSpec fills nothing the CRD leaves unset, except lists and selectors whose absence means empty', async () => {
  const defaults = new Map((await specFields()).filter(([, n]) => n.default !== undefined).map(([p, n]) => [p, n.default]));
  const absentMeansEmpty: Record<string, unknown> = { 'spec.legacyTokens.namespaceSelector': {}, 'spec.legacyTokens.restartWindows': [] };
  const extra: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (path in absentMeansEmpty) {
      assert.equal(value, absentMeansEmpty[path], path);
      return;
    }
    if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
      return;
    }
    if (value !== undefined && !defaults.has(path) && !defaults.has(path.replace(/Ms$/, ''))) extra.push(`${path} = ${JSON.stringify(value)}`);
  };
  walk(resolveSpec({}), 'spec');
  assert.equal(extra, [], 'resolveSpec fills these without a CRD default');
});

test('resolveSpec accepts and refuses each bound, enum and pattern it checks exactly as the CRD does', async () => {
  const all = await specFields();
  const throwsNaming = (spec: AuthPolicySpec, path: string): boolean => {
    try {
      resolveSpec(spec);
      return false;
    } catch (e) {
      assert.match((e as Error).message, path.replace(/\[\]/g, '[0]'));
      return true;
    }
  };
  const ranged = all.filter(([p, n]) => n.type === 'integer' && n.minimum !== undefined && n.maximum !== undefined && !p.includes('[]'));
  assert.ok(ranged.length >= 2);
  for (const [path, { minimum = 0, maximum = 0 }] of ranged) {
    for (const ok of [minimum, maximum]) assert.not.ok(throwsNaming(specWith(path, ok), path), `${path} = ${ok} is accepted`);
    for (const bad of [minimum - 1, maximum + 1]) assert.ok(throwsNaming(specWith(path, bad), path), `${path} = ${bad} is refused`);
  }
  const enums = all.filter(([p, n]) => n.enum && !p.includes('[]'));
  for (const [path, node] of enums) {
    for (const ok of node.enum ?? []) assert.not.ok(throwsNaming(specWith(path, ok), path), `${path} = ${String(ok)} is accepted`);
    assert.ok(throwsNaming(specWith(path, 'NotInTheCrd'), path), `${path}: a value outside the CRD's enum is refused`);
  }
  for (const [path, node] of all.filter(([p, n]) => n.enum && /^spec\.\w+\.\w+\[\]$/.test(p))) {
    const list = path.slice(0, -2);
    const resolved = resolvedAt(resolveSpec(specWith(list, node.enum)), list);
    assert.equal(resolved.value, node.enum, `${list}: every value the CRD's enum allows is kept`);
  }
  const window = (start: string, end: string): AuthPolicySpec => ({ legacyTokens: { restartWindows: [{ start, end }] } });
  for (const field of ['start', 'end'] as const) {
    const pattern = new RegExp(all.find(([p]) => p === `spec.legacyTokens.restartWindows[].${field}`)?.[1].pattern ?? '');
    for (const time of ['00:00', '09:30', '23:59', '24:00', '7:00', '12:60', '1200', '']) {
      const spec = field === 'start' ? window(time, '03:33') : window('03:33', time);
      assert.is(!throwsNaming(spec, 'spec.legacyTokens.restartWindows[0]'), pattern.test(time), `${field} ${JSON.stringify(time)}: as the CRD's pattern`);
    }
  }
});

test('src/api repeats no enum value, default, bound or pattern of the CRD: it reads them from SPEC_FIELDS', async () => {
  const all = await specFields();
  const files = ['src/api/defaults.ts', 'src/api/types.ts', 'src/api/conditions.ts'];
  const texts = await Promise.all(files.map(async (f) => [f, await readFile(new URL(f, ROOT), 'utf8')] as const));
  const repeated: string[] = [];
  for (const [path, node] of all) {
    const strings = [...(node.enum ?? []), ...(typeof node.default === 'string' ? [node.default] : [])].filter((v) => typeof v === 'string');
    const numbers = [node.minimum, node.maximum, typeof node.default === 'number' ? node.default : undefined].filter((v) => v !== undefined);
    for (const [file, text] of texts) {
      for (const s of strings) if (text.includes(`'${s}'`) || text.includes(`"${s}"`)) repeated.push(`${file}: '${s}' (${path})`);
      for (const n of numbers) if (new RegExp(`([<>]=?|\\?\\?)\\s*${n}\\b`).test(text)) repeated.push(`${file}: ${n} (${path})`);
      if (node.pattern && text.includes(node.pattern.slice(1, -1))) repeated.push(`${file}: pattern ${node.pattern} (${path})`);
      if (typeof node.default === 'boolean' && /\?\?\s*(true|false)\b/.test(text)) repeated.push(`${file}: a boolean default (${path})`);
    }
  }
  assert.equal([...new Set(repeated)], [], 'read these from SPEC_FIELDS (src/api/generated/authpolicy.ts) instead');
});

test('each generated type is declared once in src/ (WorkloadKind included); others re-export it', async () => {
  const sources = async (dir: string): Promise<string[]> =>
    (await readdir(dir, { withFileTypes: true, recursive: true })).filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
  const files = await sources(new URL('src', ROOT).pathname);
  const texts = await Promise.all(files.map(async (f) => [f.slice(new URL('.', ROOT).pathname.length), await readFile(f, 'utf8')] as const));
  // AuthPolicyStatus in types.ts extends the generated one (conditions as the operator writes them); Condition likewise.
  const extensions = new Set(['src/api/types.ts:AuthPolicyStatus']);
  const names = [...new Set(Object.values(TYPE_NAMES))];
  assert.ok(names.includes('WorkloadKind'));
  const duplicates = names.flatMap((name) =>
    texts
      .filter(([file]) => file !== 'src/api/generated/authpolicy.ts' && !extensions.has(`${file}:${name}`))
      .filter(([, text]) => new RegExp(`^(export )?(type|interface) ${name}\\b`, 'm').test(text))
      .map(([file]) => `${file}: ${name}`),
  );
  assert.equal(duplicates, [], 'declared outside src/api/generated/authpolicy.ts: re-export it instead');
});

test.run();

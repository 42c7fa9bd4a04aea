// The printers: the CRD's additionalPrinterColumns (what `kubectl get authpolicy`
// and `-o wide` show), evaluated as kubectl evaluates their JSONPath, on the
// AuthPolicies captured from a real control plane (config/argocd/resource_customizations/authpolicy.io/AuthPolicy/testdata).
import { readFile } from 'node:fs/promises';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { columns } from '../../../src/cli/columns.ts';

const test = suite('printer columns');
const ROOT = new URL('../../../', import.meta.url);

interface Column {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}

async function printerColumns(): Promise<Column[]> {
  const crd = parse(await readFile(new URL('crds/authpolicy.yaml', ROOT), 'utf8')) as { spec: { versions: { additionalPrinterColumns: Column[] }[] } };
  return crd.spec.versions[0]?.additionalPrinterColumns ?? [];
}

/** The JSONPath forms the CRD uses: .a.b and .a[?(@.k=="v")].b, as kubectl's printer evaluates them. */
function evaluate(path: string, obj: unknown): string {
  let values: unknown[] = [obj];
  for (const step of path.slice(1).split(/\.(?![^[]*\])/)) {
    const m = /^(\w+)(?:\[\?\(@\.(\w+)=="([^"]*)"\)\])?$/.exec(step);
    assert.ok(m, `a JSONPath step kubectl understands: ${step}`);
    const [, field, key, value] = m;
    values = values.flatMap((v) => {
      const next = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[field ?? ''] : undefined;
      if (key === undefined) return next === undefined ? [] : [next];
      return Array.isArray(next) ? (next as unknown[]).filter((x) => (x as Record<string, unknown>)[key] === value) : [];
    });
  }
  return values.map((v) => String(v)).join(' ');
}

async function fixture(name: string): Promise<unknown> {
  return parse(await readFile(new URL(`config/argocd/resource_customizations/authpolicy.io/AuthPolicy/testdata/${name}.yaml`, ROOT), 'utf8'));
}

/** `kubectl get` (wide: also priority 1) as rows: header and one row per object. */
async function get(objects: unknown[], wide: boolean): Promise<string[]> {
  const cols = (await printerColumns()).filter((c) => wide || (c.priority ?? 0) === 0);
  return columns([
    ['NAME', ...cols.map((c) => c.name.toUpperCase())],
    ...objects.map((o) => [evaluate('.metadata.name', o), ...cols.map((c) => (c.type === 'date' ? '5m' : evaluate(c.jsonPath, o)))]),
  ]);
}

test('kubectl get shows READY and its REASON first; -o wide adds the areas and the MESSAGE', async () => {
  const names = (await printerColumns()).map((c) => `${c.name}${c.priority ? '*' : ''}`);
  assert.equal(names, ['Ready', 'Reason', 'NodeAuth', 'Tokens', 'Restarts*', 'Clock', 'BoundTokens*', 'DryRun*', 'Age', 'Message*']);
  const [header] = await get([], false);
  assert.match(header ?? '', /^NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+CLOCK\s+AGE$/);
  const [wide] = await get([], true);
  assert.match(wide ?? '', /^NAME\s+READY\s+REASON\s+NODEAUTH\s+TOKENS\s+RESTARTS\s+CLOCK\s+BOUNDTOKENS\s+DRYRUN\s+AGE\s+MESSAGE$/);
});

test('a healthy policy, a degraded one and a Conflict one each say why in kubectl get', async () => {
  const rows = await get([await fixture('healthy'), await fixture('degraded-clock-skew'), await fixture('degraded-conflict')], false);
  assert.match(rows[1] ?? '', /^\S+\s+True\s+AllAreasReady\s+NodeAuthorizer\s+\w+\s+ClocksInSync\s+5m$/);
  assert.match(rows[2] ?? '', /^\S+\s+False\s+AreasNotReady\s+\S+\s+\S+\s+ClockSkewDetected\s+5m$/);
  assert.match(rows[3] ?? '', /^\S+\s+False\s+Conflict\s+5m$/, 'a Conflict policy shows its reason, not blanks');
  const wide = await get([await fixture('degraded-conflict')], true);
  assert.match(wide[1] ?? '', /False\s+Conflict\s+.*AuthPolicy cluster is/, '-o wide shows the message');
});

test.run();

// The house's one-way arrows (cli → policy → areas → runtime, kube, api) and the
// absence of import circles are enforced by lint (eslint.config.js; `make verify`
// lints the tree). This test proves lint really fails on each: it writes a
// wrong-way import and a circle into temporary files under src/, lints them with
// the project's own configuration, and removes them. Because it writes under src/,
// it runs in `make verify` (test/verify/), never in the pure unit tier.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));
const test = suite('architecture');
const eslint = new ESLint({ cwd: root });

/** Lints a file that exists only for the duration of the call, in the given src/ folder. */
async function lintProbe(folder: string, files: Record<string, string>, lint: string): Promise<string[]> {
  const dir = mkdtempSync(join(root, 'src', folder, 'lint-probe-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const [result] = await eslint.lintFiles([join(dir, lint)]);
    return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('runtime importing an area fails lint', async () => {
  const messages = await lintProbe('runtime', { 'wrong.ts': "import type { Area } from '../../areas/area.ts';\nexport type Probe = Area;\n" }, 'wrong.ts');
  assert.ok(
    messages.some((m) => m.startsWith('no-restricted-imports') && m.includes('know no area')),
    messages.join('\n'),
  );
});

test('an area importing the policy layer fails lint', async () => {
  const messages = await lintProbe(
    'areas/clock',
    { 'wrong.ts': "import type { CacheSet } from '../../../policy/caches.ts';\nexport type Probe = CacheSet;\n" },
    'wrong.ts',
  );
  assert.ok(
    messages.some((m) => m.startsWith('no-restricted-imports') && m.includes('src/policy')),
    messages.join('\n'),
  );
});

test('an area importing another area fails lint', async () => {
  const messages = await lintProbe(
    'areas/clock',
    { 'wrong.ts': "import type { LegacyTokensPlan } from '../../legacytokens/plan.ts';\nexport type Probe = LegacyTokensPlan;\n" },
    'wrong.ts',
  );
  assert.ok(
    messages.some((m) => m.startsWith('no-restricted-imports') && m.includes('never imports another area')),
    messages.join('\n'),
  );
});

test('an area or kube reading Date.now() or keeping a module-level memo fails lint', async () => {
  const text = 'const memo = new Map<string, number>();\nexport const remember = (k: string): number => memo.set(k, Date.now()).get(k) ?? 0;\n';
  for (const folder of ['areas/clock', 'areas/legacytokens', 'kube']) {
    const messages = await lintProbe(folder, { 'hidden.ts': text }, 'hidden.ts');
    assert.ok(
      messages.some((m) => m.startsWith('no-restricted-syntax') && m.includes('Date.now() hides the clock')),
      `${folder}: ${messages.join('\n')}`,
    );
    assert.ok(
      messages.some((m) => m.startsWith('no-restricted-syntax') && m.includes('module-level mutable state')),
      `${folder}: ${messages.join('\n')}`,
    );
  }
});

test('an import circle fails lint', async () => {
  const messages = await lintProbe(
    'areas/clock',
    {
      'a.ts': "import { b } from './b.ts';\nexport const a = (): number => b() + 1;\n",
      'b.ts': "import { a } from './a.ts';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
    },
    'a.ts',
  );
  assert.ok(
    messages.some((m) => m.startsWith('import-x/no-cycle')),
    messages.join('\n'),
  );
});

/** Every .ts file under a folder. */
const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? tsFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));

test('the unit tier is pure: no control plane, no tool built from Go, no writes under src/', () => {
  const impure: [RegExp, string][] = [
    [/from '(\.\.\/)+(cluster|e2e|integration|argocd)\//, 'imports the control-plane harness or another tier'],
    [/build-(binaries|helm|argocd|node|rollouts|promtool|cosign)\.sh/, 'runs a script that builds a tool from Go modules: move it to test/integration/'],
    [/\b(spawn|execFile)(Sync)?\(\s*'go'/, 'runs Go'],
    [/join\(\s*root,\s*'src'/, 'writes under src/'],
  ];
  const found = tsFiles(join(root, 'test', 'unit')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return impure.filter(([pattern]) => pattern.test(text)).map(([, why]) => `${file.slice(root.length)}: ${why}`);
  });
  assert.equal(found, []);
});

test('every area has the same rooms, and its index.ts only wires them', () => {
  const areas = join(root, 'src', 'areas');
  const folders = readdirSync(areas, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  assert.ok(folders.length >= 4, folders.join(', '));
  for (const area of folders) {
    for (const room of ['caches.ts', 'observe.ts', 'plan.ts', 'index.ts']) assert.ok(existsSync(join(areas, area, room)), `src/areas/${area}/${room}`);
    const index = readFileSync(join(areas, area, 'index.ts'), 'utf8');
    assert.not.match(index, /\bawait\b|ctx\.cache\(|\.list\(\)/, `src/areas/${area}/index.ts wires; it does not observe or act`);
  }
});

test.run();

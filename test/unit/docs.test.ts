// The docs as a front door that cannot rot: README.md stays under 250 lines, every relative link and anchor in
// README.md and docs/**/*.md leads somewhere that exists, and docs/api-reference.md is exactly what the CRD
// generates (scripts/generate-api-reference.ts). Pure: reads files (and asks git which are ignored), no cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { REFERENCE_FILE, celMessage, generateApiReference, slug } from '../../scripts/generate-api-reference.ts';
import { CRD_FILE, type Schema } from '../../scripts/generate-api-types.ts';

const test = suite('docs');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_MAX_LINES = 250;

/** README.md and every Markdown file under docs/, as paths from the repository root. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir))
      .sort()
      .flatMap((name) => {
        const path = join(dir, name);
        if (statSync(join(ROOT, path)).isDirectory()) return walk(path);
        return name.endsWith('.md') ? [path] : [];
      });
  return ['README.md', ...(existsSync(join(ROOT, 'docs')) ? walk('docs') : [])];
}

/** The text outside fenced code blocks, line by line (a fenced line becomes empty, so line numbers hold). */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m?.[1]) {
      if (!fence) fence = m[1];
      else if (m[1].startsWith(fence)) fence = undefined;
      return '';
    }
    return fence ? '' : line;
  });
}

/** GitHub's anchors for a Markdown text: each heading's slug, a repeated one suffixed -1, -2, … */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m?.[1]) continue;
    const rendered = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = slug(rendered);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) if (m[1]) out.add(m[1]);
  return out;
}

interface Link {
  line: number;
  target: string;
}

/** The inline links and images of a Markdown text, outside code blocks and code spans. */
function links(text: string): Link[] {
  const out: Link[] = [];
  prose(text).forEach((line, i) => {
    const plain = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of plain.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) if (m[1] !== undefined) out.push({ line: i + 1, target: m[1] });
  });
  return out;
}

/** Why one link is dead, or undefined when it resolves: the file (inside the repository) and the heading. */
function deadLink(
  file: string,
  target: string,
  read: (path: string) => string | undefined,
  ignoredByGit: (path: string) => boolean = () => false,
): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: — not checked here
  const [path = '', anchor] = target.split('#', 2);
  const resolved = path === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), decodeURIComponent(path)));
  if (resolved.startsWith('..')) return `${target} points outside the repository`;
  if (ignoredByGit(resolved)) return `${target}: git ignores ${resolved}, so a clone does not have it`;
  const text = read(resolved);
  if (text === undefined) return `${target}: ${resolved} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!resolved.endsWith('.md')) return undefined; // GitHub's line anchors (#L10) and the like
  if (!anchors(text).has(anchor)) return `${target}: ${resolved} has no heading with anchor #${anchor}`;
  return undefined;
}

/** What git ignores here ('dir/' for a whole directory): such a file exists in this tree but never in a clone. */
const ignored = execFileSync('git', ['ls-files', '--others', '--ignored', '--exclude-standard', '--directory'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

const ignoredByGit = (path: string): boolean => ignored.some((entry) => path === entry || (entry.endsWith('/') && path.startsWith(entry)));

/** A file's text ('' for a directory), or undefined when nothing is there. */
function readRepo(path: string): string | undefined {
  const full = join(ROOT, path);
  if (!existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

test(`README.md is a front door: under ${README_MAX_LINES} lines`, () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length;
  assert.ok(
    lines < README_MAX_LINES,
    `README.md has ${lines} lines: move the depth into docs/ (docs/README.md is the index) until it is under ${README_MAX_LINES}`,
  );
});

test('every relative link and anchor in README.md and docs/**/*.md resolves', () => {
  const files = markdownFiles();
  assert.ok(files.includes('docs/README.md'), 'docs/README.md (the index of docs/) is missing');
  const dead: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { line, target } of links(readFileSync(join(ROOT, file), 'utf8'))) {
      checked++;
      const why = deadLink(file, target, readRepo, ignoredByGit);
      if (why) dead.push(`${file}:${line}: ${why}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} links found in ${files.length} files: is the link parser broken?`);
  assert.equal(dead, [], `dead links (fix the target or the link):\n${dead.join('\n')}`);
});

test('the link checker finds what it must: a missing file, a missing heading, an escape, a file git ignores', () => {
  const files: Record<string, string> = {
    'docs/a.md': '# A page\n\n## Install `it` with **Helm**\n\n## Install `it` with **Helm**\n\n```sh\n# not a heading\n```\n',
    'docs/b.md': '',
  };
  const read = (p: string): string | undefined => files[p];
  assert.is(deadLink('docs/b.md', 'a.md#install-it-with-helm', read), undefined);
  assert.is(deadLink('docs/b.md', 'a.md#install-it-with-helm-1', read), undefined);
  assert.is(deadLink('docs/a.md', '#a-page', read), undefined);
  assert.is(deadLink('docs/b.md', 'https://kubernetes.io/docs/', read), undefined);
  assert.match(deadLink('docs/b.md', 'a.md#not-a-heading', read) ?? '', 'no heading with anchor #not-a-heading');
  assert.match(deadLink('docs/b.md', 'c.md', read) ?? '', 'docs/c.md does not exist');
  assert.match(deadLink('docs/b.md', '../../outside.md', read) ?? '', 'outside the repository');
  assert.match(deadLink('docs/b.md', 'a.md', read, (p) => p === 'docs/a.md') ?? '', 'git ignores docs/a.md');
  const text = 'See [a](a.md) and `[not](a link)`.\n```md\n[nor](this.md)\n```\n![img](pic.png "title")';
  assert.equal(
    links(text).map((l) => l.target),
    ['a.md', 'pic.png'],
  );
});

test("the README's dry-run install works on the sample: its sed finds the sample's one `dryRun: false`", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const sample = 'config/samples/authpolicy_v1alpha1_authpolicy.yaml';
  assert.ok(
    readme.includes(`sed 's/dryRun: false/dryRun: true/' ${sample}`),
    `README.md no longer starts the sample in dry run with sed on ${sample}: update this test with it`,
  );
  const found = (readRepo(sample) ?? '').match(/^\s*dryRun: false$/gm) ?? [];
  assert.is(found.length, 1, `${sample} must hold exactly one \`dryRun: false\` line, which README.md's install turns into dryRun: true`);
});

test(`the committed ${REFERENCE_FILE} is what ${CRD_FILE} generates`, () => {
  const generated = generateApiReference(readFileSync(join(ROOT, CRD_FILE), 'utf8'));
  const committed = readRepo(REFERENCE_FILE) ?? '(missing)';
  const at = generated.split('\n').findIndex((line, i) => line !== committed.split('\n')[i]);
  assert.ok(generated === committed, `${REFERENCE_FILE} is stale (first difference at line ${at + 1}): run \`npm run generate\` and commit it`);
});

test('the reference follows the CRD: a new field appears with its type, default, validation and description', () => {
  const crd = parse(readFileSync(join(ROOT, CRD_FILE), 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
  const clock = crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.clock!;
  clock.properties = {
    ...clock.properties,
    sampleWindow: { type: 'integer', minimum: 3, maximum: 9, default: 5, description: 'How many samples a median takes | per clock.' },
  };
  const reference = generateApiReference(stringify(crd));
  assert.ok(
    reference.includes('| `sampleWindow` | `integer` | `5` | 3–9 | How many samples a median takes \\| per clock. |'),
    'the new field is not in the reference as a row',
  );
  assert.ok(reference.includes('### spec.clock'), 'the spec.clock section is missing');
});

test('CEL messages read as sentences: string literals kept, operands shown as code', () => {
  assert.is(
    celMessage({ rule: 'x', messageExpression: "'got ' + self + ', want at least ' + string(self.min)" }),
    'got `<self>`, want at least `<string(self.min)>`',
  );
  assert.is(celMessage({ rule: 'x', message: 'plain' }), 'plain');
  assert.is(slug('spec.legacyTokens.restartWindows[]'), 'speclegacytokensrestartwindows');
  assert.is(slug('The `check` command in CI'), 'the-check-command-in-ci');
});

test.run();

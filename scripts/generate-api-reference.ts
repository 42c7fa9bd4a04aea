// Writes docs/api-reference.md from crds/authpolicy.yaml: every field's path, type, default, validation and
// description, so the reference a user reads cannot drift from the schema the API server enforces.
//
//   npm run generate          (also writes the TypeScript types: scripts/generate-api-types.ts)
//
// The output depends only on the CRD's text (fields in the CRD's order); test/unit/docs-api-reference.test.ts
// renders it in memory and fails when the committed file differs.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CRD_FILE, type Schema } from './generate-api-types.ts';

export const REFERENCE_FILE = 'docs/api-reference.md';

/** A CEL rule as the CRD writes it. */
interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
}

/** The schema keywords the reference reads beyond the generator's. */
interface Field extends Schema {
  properties?: Record<string, Field>;
  items?: Field;
  additionalProperties?: Field | boolean;
  required?: string[];
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
  description?: string;
}

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions: { name: string; storage?: boolean; served?: boolean; additionalPrinterColumns?: PrinterColumn[]; schema: { openAPIV3Schema: Field } }[];
  };
}

/** Text safe inside a Markdown table cell: pipes escaped (GitHub honours `\|` in code spans too), one line. */
const cell = (text: string): string => text.replaceAll('|', '\\|').replace(/\s+/g, ' ').trim();
const code = (text: string): string => `\`${text}\``;

/** A JSON value as the YAML a user would write (`[a, b]`, `{}`, `30s`). */
function yamlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') return Object.keys(value).length ? JSON.stringify(value) : '{}';
  return String(value);
}

/** The type a reader expects: `[]string`, `map[string]string`, `string (date-time)`, `object`. */
function typeOf(field: Field): string {
  if (field['x-kubernetes-int-or-string']) return 'int-or-string';
  if (field.type === 'array') return `[]${field.items ? typeOf(field.items) : 'any'}`;
  if (field.type === 'object' && typeof field.additionalProperties === 'object') return `map[string]${typeOf(field.additionalProperties)}`;
  if (field.type === 'object' && field['x-kubernetes-preserve-unknown-fields']) return 'object (free-form)';
  const base = field.type ?? 'any';
  return field.format ? `${base} (${field.format})` : base;
}

/**
 * A CEL message for people: a static `message` as is; a `messageExpression` with its string literals kept and each
 * other operand shown as a code span (`'got ' + self` → ``got `<self>` ``), which Markdown does not take for HTML.
 */
export function celMessage(rule: CelRule): string {
  if (rule.message) return rule.message;
  if (!rule.messageExpression) return `must satisfy ${rule.rule}`;
  const parts: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'|([^+'\s][^+']*?)(?=\s*(?:\+|$))/g;
  for (const m of rule.messageExpression.matchAll(re)) {
    if (m[1] !== undefined) parts.push(m[1].replace(/\\(.)/g, '$1'));
    else if (m[2]) parts.push(`\`<${m[2].trim()}>\``);
  }
  return parts.join('');
}

/** Every constraint on one field: enum, bounds, lengths, pattern, list type, CEL rules. */
function validation(field: Field, required: boolean, withRules: boolean): string[] {
  const out: string[] = [];
  if (required) out.push('required');
  if (field.enum) out.push(`one of ${field.enum.map((v) => code(String(v))).join(', ')}`);
  if (field.minimum !== undefined && field.maximum !== undefined) out.push(`${field.minimum}–${field.maximum}`);
  else if (field.minimum !== undefined) out.push(`≥ ${field.minimum}`);
  else if (field.maximum !== undefined) out.push(`≤ ${field.maximum}`);
  if (field.minLength === 1) out.push('not empty');
  else if (field.minLength !== undefined) out.push(`at least ${field.minLength} characters`);
  if (field.maxLength !== undefined) out.push(`at most ${field.maxLength} characters`);
  if (field.maxItems !== undefined) out.push(`at most ${field.maxItems} items`);
  if (field.maxProperties !== undefined) out.push(`at most ${field.maxProperties} entries`);
  if (field.pattern) out.push(`pattern ${code(field.pattern)}`);
  const list = field['x-kubernetes-list-type'];
  if (list === 'atomic') out.push('atomic list (server-side apply replaces it whole)');
  else if (list === 'map') out.push(`map list keyed by ${(field['x-kubernetes-list-map-keys'] ?? []).map(code).join(', ')}`);
  else if (list) out.push(`${list} list`);
  if (withRules) for (const rule of field['x-kubernetes-validations'] ?? []) out.push(`rule: ${celMessage(rule)}`);
  // A list's scalar items and a map's values carry their own constraints.
  const items = field.type === 'array' && field.items && !field.items.properties ? validation(field.items, false, true) : [];
  if (items.length) out.push(`each item: ${items.join(', ')}`);
  const values = typeof field.additionalProperties === 'object' ? validation(field.additionalProperties, false, true) : [];
  if (values.length) out.push(`each value: ${values.join(', ')}`);
  return out;
}

/** The fields of an object, or of an array's object items (`spec.legacyTokens.restartWindows[]`). */
const objectFields = (field: Field): Record<string, Field> | undefined => {
  if (field.type === 'array' && field.items?.properties) return field.items.properties;
  return field.properties;
};
const objectOf = (field: Field): Field => (field.type === 'array' && field.items?.properties ? field.items : field);

/** One `##`/`###` section per object with fields: a table of its direct fields, then the objects below it. */
function sections(field: Field, path: string, depth: number): string[] {
  const fields = objectFields(field);
  if (!fields) return [];
  const object = objectOf(field);
  const required = new Set(object.required ?? []);
  const rows = Object.entries(fields).map(([name, f]) => {
    const deflt = f.default === undefined ? '' : code(yamlValue(f.default));
    const nested = objectFields(f)
      ? ` See [${path}.${name}${f.type === 'array' ? '[]' : ''}](#${slug(`${path}.${name}${f.type === 'array' ? '[]' : ''}`)}).`
      : '';
    return `| ${code(name)} | ${code(typeOf(f))} | ${deflt} | ${cell(validation(f, required.has(name), !f.properties).join('; '))} | ${cell((f.description ?? '') + nested)} |`;
  });
  const out = [`${'#'.repeat(Math.min(depth, 4))} ${path}`, ''];
  if (object.description) out.push(cell(object.description), '');
  // An object's own rules (an array's are in its row above; its items' are here).
  const rules = object['x-kubernetes-validations'] ?? [];
  if (rules.length) {
    out.push('Rules across fields:', '');
    for (const rule of rules) out.push(`- ${rule.fieldPath ? `${code(rule.fieldPath.replace(/^\./, ''))}: ` : ''}${celMessage(rule)}`);
    out.push('');
  }
  out.push('| Field | Type | Default | Validation | Description |', '|---|---|---|---|---|', ...rows, '');
  for (const [name, f] of Object.entries(fields)) out.push(...sections(f, `${path}.${name}${f.type === 'array' ? '[]' : ''}`, depth + 1));
  return out;
}

/** GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The reference's text for a CRD's text: same input, same bytes. */
export function generateApiReference(crdText: string): string {
  const crd = parse(crdText) as Crd;
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error(`${CRD_FILE} declares no version: add spec.versions with a schema`);
  const root = version.schema.openAPIV3Schema;
  const names = crd.spec.names;
  const columns = (version.additionalPrinterColumns ?? []).map(
    (c) => `| ${code(c.name.toUpperCase())} | ${c.priority ? '`-o wide`' : 'always'} | ${code(cell(c.jsonPath))} | ${cell(c.description ?? '')} |`,
  );
  const top = (name: string): string[] => (root.properties?.[name] ? sections(root.properties[name], name, 2) : []);
  return [
    '# AuthPolicy API reference',
    '',
    `<!-- Generated from ${CRD_FILE} by scripts/generate-api-reference.ts: do not edit. Run \`npm run generate\` after changing the CRD. -->`,
    '',
    `Generated from [\`${CRD_FILE}\`](../${CRD_FILE}), the one source of the schema; the API server enforces every`,
    'constraint below when an AuthPolicy is applied, and `check -f` checks a file against the same schema.',
    'What the fields do, with examples: [the AuthPolicy guide](authpolicy.md) and the [area guides](README.md#the-four-areas).',
    '',
    '| | |',
    '|---|---|',
    `| API version | ${code(`${crd.spec.group}/${version.name}`)} |`,
    `| Kind | ${code(names.kind)} (list: ${code(`${names.kind}List`)}) |`,
    `| Scope | ${crd.spec.scope} |`,
    `| Names | ${[names.plural, names.singular, ...(names.shortNames ?? [])]
      .filter(Boolean)
      .map((n) => code(String(n)))
      .join(', ')} |`,
    ...(names.categories?.length ? [`| Categories | ${names.categories.map(code).join(', ')} |`] : []),
    '',
    cell(root.description ?? ''),
    '',
    '## Columns of `kubectl get authpolicy`',
    '',
    '| Column | Shown | From | Meaning |',
    '|---|---|---|---|',
    ...columns,
    '',
    ...top('spec'),
    ...top('status'),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\n*$/, '\n');
}

/** Regenerates the committed reference from the committed CRD (paths from the repository root). */
async function main(): Promise<void> {
  const root = new URL('../', import.meta.url);
  await writeFile(new URL(REFERENCE_FILE, root), generateApiReference(await readFile(new URL(CRD_FILE, root), 'utf8')));
  console.log(`wrote ${REFERENCE_FILE} from ${CRD_FILE}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

// Writes src/api/generated/authpolicy.ts from crds/authpolicy.yaml: the CRD is the API's one source, and the
// TypeScript types and constants follow it (as controller-gen keeps Go types and CRDs in step, the other way round).
//
//   npm run generate          (node scripts/generate-api-types.ts)
//
// Output: an interface or type for the spec and the status (descriptions as doc comments, enums as string-literal
// unions, required vs optional, x-kubernetes-int-or-string, additionalProperties maps, arrays), and SPEC_FIELDS:
// every spec field's default, enum and bounds, which src/api/defaults.ts reads instead of repeating them.
// The output depends only on the CRD's text (properties in the CRD's order), so it is the same on every machine;
// test/unit/api/generated-types.test.ts regenerates it in memory and fails when the committed file differs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { SchemaNode } from '../src/api/validate.ts';

export const CRD_FILE = 'crds/authpolicy.yaml';
export const GENERATED_FILE = 'src/api/generated/authpolicy.ts';

/** The schema keywords the generator reads beyond those the validator knows. */
export interface Schema extends SchemaNode {
  description?: string;
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

/**
 * Names for the schema's objects and enums, by path from the root (`[]`: a list's items, `{}`: a map's values).
 * A path not listed is written inline, so a new field needs no entry; a new named type does.
 */
export const TYPE_NAMES: Readonly<Record<string, string>> = {
  spec: 'AuthPolicySpec',
  'spec.nodeAuthorization': 'NodeAuthorizationSpec',
  'spec.nodeAuthorization.mode': 'NodeAuthorizationMode',
  'spec.legacyTokens': 'LegacyTokensSpec',
  'spec.legacyTokens.namespaceSelector': 'LabelSelector',
  'spec.legacyTokens.namespaceSelector.matchExpressions[]': 'LabelSelectorRequirement',
  'spec.legacyTokens.namespaceSelector.matchExpressions[].operator': 'LabelSelectorOperator',
  'spec.legacyTokens.rotateOn[]': 'RotationTrigger',
  'spec.legacyTokens.workloadKinds[]': 'WorkloadKind',
  'spec.legacyTokens.restartWindows[]': 'RestartWindowSpec',
  'spec.legacyTokens.restartWindows[].days[]': 'Weekday',
  'spec.clock': 'ClockSpec',
  'spec.boundTokens': 'BoundTokensSpec',
  status: 'AuthPolicyStatus',
  'status.conditions[]': 'AuthPolicyCondition',
  'status.conditions[].status': 'ConditionStatus',
};

/** The keywords SPEC_FIELDS records for each field (CEL rules stay in the CRD: validate.ts ports them). */
const FIELD_KEYWORDS = ['default', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'maxItems', 'maxProperties', 'pattern', 'format'] as const;
const WIDTH = 118;

/** A JSON value as a TypeScript literal (single quotes, as the rest of src/). */
export function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${propertyKey(k)}: ${literal(v)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(value);
}

const propertyKey = (key: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : literal(key));

/** A doc comment from a description and notes, wrapped at WIDTH; empty when there is nothing to say. */
function docComment(lines: string[], indent: string): string[] {
  const words = lines.map((l) => l.replaceAll('*/', '*\\/').split(/\s+/).filter(Boolean));
  const wrapped = words.flatMap((ws) => {
    const out: string[] = [];
    for (const w of ws) {
      const last = out.length - 1;
      if (last >= 0 && indent.length + 3 + (out[last]?.length ?? 0) + 1 + w.length <= WIDTH) out[last] = `${out[last] ?? ''} ${w}`;
      else out.push(w);
    }
    return out;
  });
  if (wrapped.length === 0) return [];
  if (wrapped.length === 1 && indent.length + 7 + (wrapped[0]?.length ?? 0) <= WIDTH) return [`${indent}/** ${wrapped[0] ?? ''} */`];
  return [`${indent}/**`, ...wrapped.map((l) => `${indent} * ${l}`), `${indent} */`];
}

/** What a field's constraints say to a reader of the types: its default and bounds. */
function notes(node: Schema): string[] {
  const out: string[] = [];
  const bounds = [
    node.minimum !== undefined && node.maximum !== undefined ? `from ${node.minimum} to ${node.maximum}` : undefined,
    node.minimum !== undefined && node.maximum === undefined ? `at least ${node.minimum}` : undefined,
    node.maximum !== undefined && node.minimum === undefined ? `at most ${node.maximum}` : undefined,
    node.maxItems !== undefined ? `at most ${node.maxItems} items` : undefined,
    node.maxProperties !== undefined ? `at most ${node.maxProperties} entries` : undefined,
    node.minLength !== undefined ? `at least ${node.minLength} characters` : undefined,
    node.maxLength !== undefined ? `at most ${node.maxLength} characters` : undefined,
    node.format !== undefined ? `format ${node.format}` : undefined,
    node.pattern !== undefined ? `pattern \`${node.pattern}\`` : undefined,
  ].filter((b) => b !== undefined);
  if (bounds.length) out.push(`Schema: ${bounds.join('; ')}.`);
  if (node.default !== undefined) out.push(`@default ${JSON.stringify(node.default)}`);
  return out;
}

class Writer {
  /** Named declarations in order of first use (depth first), so the file reads from the spec down. */
  readonly declarations = new Map<string, string>();

  /** The TypeScript type of `node` at `path`: a declared name, or an inline type. */
  typeOf(node: Schema, path: string, indent: string): string {
    const name = TYPE_NAMES[path];
    if (name === undefined) return this.inline(node, path, indent);
    if (!this.declarations.has(name)) {
      this.declarations.set(name, '');
      const doc = docComment(node.description ? [node.description] : [], '');
      const isInterface = node.type === 'object' && node.properties !== undefined && !node.nullable;
      const body = isInterface ? `export interface ${name} ${this.objectBody(node, path, '')}` : `export type ${name} = ${this.inline(node, path, '')};`;
      this.declarations.set(name, [...doc, body].join('\n'));
    }
    return name;
  }

  private inline(node: Schema, path: string, indent: string): string {
    const type = this.bare(node, path, indent);
    return node.nullable ? `${type} | null` : type;
  }

  private bare(node: Schema, path: string, indent: string): string {
    if (node['x-kubernetes-int-or-string']) return 'number | string';
    if (node.enum) return node.enum.map(literal).join(' | ');
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!node.items) return 'unknown[]';
        const item = this.typeOf(node.items, `${path}[]`, indent);
        return /[ |{]/.test(item) ? `Array<${item}>` : `${item}[]`;
      }
      case 'object': {
        if (node.properties) return this.objectBody(node, path, indent);
        if (typeof node.additionalProperties === 'object') return `Record<string, ${this.typeOf(node.additionalProperties, `${path}{}`, indent)}>`;
        return 'Record<string, unknown>';
      }
      default:
        return 'unknown';
    }
  }

  private objectBody(node: Schema, path: string, indent: string): string {
    const inner = `${indent}  `;
    const lines: string[] = [];
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const description = child.description ? [child.description] : [];
      lines.push(...docComment([...description, ...notes(child)], inner));
      const optional = node.required?.includes(key) ? '' : '?';
      lines.push(`${inner}${propertyKey(key)}${optional}: ${this.typeOf(child, `${path}.${key}`, inner)};`);
    }
    if (node['x-kubernetes-preserve-unknown-fields']) lines.push(`${inner}[field: string]: unknown;`);
    return lines.length ? `{\n${lines.join('\n')}\n${indent}}` : '{}';
  }
}

/** Every spec field that declares a default, an enum or a bound, by path, in the CRD's order. */
function specFields(node: Schema, path: string): string[] {
  const own = FIELD_KEYWORDS.filter((k) => node[k] !== undefined).map((k) => `${k}: ${literal(node[k])}`);
  const line = own.length ? [`  ${literal(path)}: { ${own.join(', ')} },`] : [];
  const children = Object.entries(node.properties ?? {}).flatMap(([key, child]) => specFields(child, `${path}.${key}`));
  const items = node.items ? specFields(node.items, `${path}[]`) : [];
  const values = typeof node.additionalProperties === 'object' ? specFields(node.additionalProperties, `${path}{}`) : [];
  return [...line, ...children, ...items, ...values];
}

/** The openAPIV3Schema of the CRD's storage version. */
export function crdSchema(crdText: string): { version: string; group: string; names: CrdNames; schema: Schema } {
  const crd = parse(crdText) as { spec: { group: string; names: CrdNames; versions: CrdVersion[] } };
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error(`${CRD_FILE} declares no version: add spec.versions with a schema`);
  return { version: version.name, group: crd.spec.group, names: crd.spec.names, schema: version.schema.openAPIV3Schema };
}

interface CrdNames {
  kind: string;
  plural: string;
}
interface CrdVersion {
  name: string;
  storage?: boolean;
  schema: { openAPIV3Schema: Schema };
}

/** The generated module's text for a CRD's text: same input, same bytes. */
export function generateApiTypes(crdText: string): string {
  const { version, group, names, schema } = crdSchema(crdText);
  const spec = schema.properties?.spec;
  const status = schema.properties?.status;
  if (!spec || !status) throw new Error(`${CRD_FILE}: the ${version} schema has no spec or no status: both are generated`);
  const writer = new Writer();
  writer.typeOf(spec, 'spec', '');
  writer.typeOf(status, 'status', '');
  const fields = specFields(spec, 'spec');
  return [
    `// Generated from ${CRD_FILE} (${group}/${version}) by scripts/generate-api-types.ts: do not edit.`,
    '// After changing the CRD, run `npm run generate` (test/unit/api/generated-types.test.ts fails until you do).',
    '// src/api/types.ts re-exports these types; src/api/defaults.ts reads SPEC_FIELDS.',
    '',
    '/** The resource, as the CRD names it. */',
    `export const GROUP = ${literal(group)};`,
    `export const VERSION = ${literal(version)};`,
    `export const KIND = ${literal(names.kind)};`,
    `export const PLURAL = ${literal(names.plural)};`,
    '',
    [...writer.declarations.values()].join('\n\n'),
    '',
    '/**',
    " * Every spec field that declares a default, an enum or a bound, by path (`[]`: a list's items, `{}`: a map's values).",
    ' * CEL rules (x-kubernetes-validations) are not here: src/api/validate.ts ports them from the CRD itself.',
    ' */',
    'export const SPEC_FIELDS = {',
    ...fields,
    '} as const;',
    '',
  ].join('\n');
}

/** Regenerates the committed file from the committed CRD (paths from the repository root). */
async function main(): Promise<void> {
  const root = new URL('../', import.meta.url);
  const text = generateApiTypes(await readFile(new URL(CRD_FILE, root), 'utf8'));
  await mkdir(new URL('src/api/generated/', root), { recursive: true });
  await writeFile(new URL(GENERATED_FILE, root), text);
  console.log(`wrote ${GENERATED_FILE} from ${CRD_FILE}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

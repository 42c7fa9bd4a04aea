// The API's types are generated from crds/authpolicy.yaml (scripts/generate-api-types.ts): the committed
// src/api/generated/authpolicy.ts must be exactly what the committed CRD generates, and the generator must
// write every schema shape the CRD may use as the TypeScript a reader expects.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { CRD_FILE, GENERATED_FILE, generateApiTypes, type Schema } from '../../../scripts/generate-api-types.ts';

const test = suite('generated API types');
const ROOT = new URL('../../../', import.meta.url);
const crdText = (): Promise<string> => readFile(new URL(CRD_FILE, ROOT), 'utf8');

/** The first line where two texts differ, for a message that shows what is stale. */
function firstDifference(want: string, got: string): string {
  const a = want.split('\n');
  const b = got.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `line ${at + 1}: generated ${JSON.stringify(a[at] ?? '(end)')}, committed ${JSON.stringify(b[at] ?? '(end)')}`;
}

/** Syntax errors of a generated module (TypeScript's parser, in memory). */
function syntaxErrors(text: string): string[] {
  const out = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2024, module: ts.ModuleKind.ESNext } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** A copy of the CRD with its spec's fields changed by `edit`. */
async function editedCrd(edit: (spec: Record<string, Schema>) => void): Promise<string> {
  const crd = parse(await crdText()) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
  edit(crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!);
  return stringify(crd);
}

test(`the committed ${GENERATED_FILE} is what ${CRD_FILE} generates`, async () => {
  const generated = generateApiTypes(await crdText());
  const committed = await readFile(new URL(GENERATED_FILE, ROOT), 'utf8').catch(() => '(missing)');
  assert.ok(generated === committed, `${GENERATED_FILE} is stale (${firstDifference(generated, committed)}): run \`npm run generate\` and commit it`);
});

test('the output is deterministic and valid TypeScript', async () => {
  const text = await crdText();
  const once = generateApiTypes(text);
  assert.is(generateApiTypes(text), once);
  assert.is(generateApiTypes(stringify(parse(text))), once, 'YAML formatting does not change the output');
  assert.equal(syntaxErrors(once), []);
  assert.match(once, /^\/\/ Generated from crds\/authpolicy\.yaml .*do not edit\.\n\/\/ .*`npm run generate`/);
});

test('enums, required fields, lists, maps, defaults and descriptions are written as the CRD declares them', async () => {
  const text = generateApiTypes(await crdText());
  assert.match(text, "export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout';");
  assert.match(text, "export type ConditionStatus = 'True' | 'False' | 'Unknown';");
  assert.match(
    text,
    /export interface RestartWindowSpec \{[^}]*\n {2}days\?: Weekday\[\];[^}]*\n {2}start: string;[^}]*\n {2}end: string;[^}]*\n {2}timeZone\?: string;\n\}/,
  );
  assert.match(text, /export interface LabelSelector \{[^}]*\n {2}matchLabels\?: Record<string, string>;/);
  assert.match(text, /\n {2}workloadKinds\?: WorkloadKind\[\];/);
  assert.match(text, / {3}\* Schema: from 1 to 50\.\n {3}\* @default 3\n {3}\*\/\n {2}probeNodes\?: number;/);
  assert.match(text, /\n {2}nodeAuthorization\?: Record<string, unknown>;/, 'free-form status summaries');
  assert.match(text, "'spec.nodeAuthorization.probeNodes': { default: 3, minimum: 1, maximum: 50 },");
  assert.ok(
    text.split('\n').every((line) => line.length <= 160),
    'no line over 160 characters',
  );
});

test('int-or-string, nullable, nested lists, maps of objects, open objects and doc comments', async () => {
  const text = generateApiTypes(
    await editedCrd((spec) => {
      Object.assign(spec.clock!.properties!, {
        surge: { 'x-kubernetes-int-or-string': true, description: 'A count or a percentage; never */ closes the comment.' },
        note: { type: 'string', nullable: true },
        grid: { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
        levels: { type: 'array', items: { type: 'string', enum: ['low', 'high'] } },
        peers: {
          type: 'object',
          additionalProperties: { type: 'object', required: ['port'], properties: { port: { type: 'integer' }, host: { type: 'string' } } },
        },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'boolean' } } },
        anything: {},
      });
    }),
  );
  assert.equal(syntaxErrors(text), []);
  assert.match(text, /\/\*\* A count or a percentage; never \*\\\/ closes the comment\. \*\/\n {2}surge\?: number \| string;/);
  assert.match(text, '  note?: string | null;');
  assert.match(text, '  grid?: number[][];');
  assert.match(text, "  levels?: Array<'low' | 'high'>;");
  assert.match(text, /\n {2}peers\?: Record<string, \{\n {4}port: number;\n {4}host\?: string;\n {2}\}>;/);
  assert.match(text, /\n {2}extra\?: \{\n {4}known\?: boolean;\n {4}\[field: string\]: unknown;\n {2}\};/);
  assert.match(text, '  anything?: unknown;');
});

test('a new enum value or field reaches the types and SPEC_FIELDS with one `npm run generate`', async () => {
  const text = generateApiTypes(
    await editedCrd((spec) => {
      spec.legacyTokens!.properties!.workloadKinds!.items!.enum!.push('ReplicaSet');
      spec.nodeAuthorization!.properties!.exampleFlag = { type: 'boolean', default: false, description: 'A field added to the CRD.' };
    }),
  );
  assert.match(text, "export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout' | 'ReplicaSet';");
  assert.match(text, /export interface NodeAuthorizationSpec \{[^}]*\n {2}exampleFlag\?: boolean;\n\}/);
  assert.match(text, "'spec.nodeAuthorization.exampleFlag': { default: false },");
});

test.run();

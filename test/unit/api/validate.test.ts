// The offline validator behind `check -f` (no CRD installed): every CEL rule in
// the CRD has a port, and the shared invalid manifests are each refused naming
// the field, while the sample and an empty spec pass with the CRD's defaults.
import { readFile } from 'node:fs/promises';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { unportedRules, validateAuthPolicy } from '../../../src/api/validate.ts';
import { findingLine, InvalidManifestError, policyDocument, shippedSchema } from '../../../src/cli/check.ts';
import { typeHints } from '../../../src/api/validate.ts';
import { FIELD_ERROR, invalidEnvelopes, invalidPolicies, manifestOf } from '../../fixtures/invalid-policies.ts';

const test = suite('validate');
const ROOT = new URL('../../../', import.meta.url);

test('every CEL rule in crds/authpolicy.yaml has a TypeScript port', async () => {
  const schema = await shippedSchema();
  assert.equal(unportedRules(schema), []);
  const text = await readFile(new URL('crds/authpolicy.yaml', ROOT), 'utf8');
  assert.ok((text.match(/- rule: /g) ?? []).length >= 12, 'the rules are found');
});

test(`${invalidPolicies.length} invalid specs are each refused naming the field, one error per bad duration`, async () => {
  const schema = await shippedSchema();
  assert.ok(invalidPolicies.length >= 60);
  const failures: string[] = [];
  for (const c of invalidPolicies) {
    const { errors } = validateAuthPolicy(manifestOf(c, 'invalid'), schema);
    const text = errors.join('\n');
    if (errors.length === 0) failures.push(`${c.name}: accepted`);
    else if (!c.field.test(text)) failures.push(`${c.name}: ${c.field} not in ${text}`);
    else if (/Duration|conversion|undefined|TypeError/.test(text)) failures.push(`${c.name}: internals in ${text}`);
    else if (/Timeout|maxAge|maxSkew/.test(c.name) && (text.match(FIELD_ERROR) ?? []).length !== 1)
      failures.push(`${c.name}: ${errors.length} errors: ${text}`);
  }
  assert.equal(failures, [], failures.join('\n'));
});

test('wrong apiVersion, kind or metadata are refused naming the field', async () => {
  const schema = await shippedSchema();
  for (const c of invalidEnvelopes) {
    const text = validateAuthPolicy(c.manifest, schema).errors.join('\n');
    assert.match(text, c.field, c.name);
  }
});

test('the sample and an empty spec are valid; defaults are filled as the API server fills them', async () => {
  const schema = await shippedSchema();
  const sample = parse(await readFile(new URL('config/samples/authpolicy_v1alpha1_authpolicy.yaml', ROOT), 'utf8')) as unknown;
  assert.equal(validateAuthPolicy(sample, schema).errors, []);
  const { errors, defaulted } = validateAuthPolicy(
    { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: {} },
    schema,
  );
  assert.equal(errors, []);
  const spec = (defaulted as { spec: { legacyTokens: { rotateOn: string[]; workloadKinds: string[]; rolloutTimeout: string }; clock: { maxSkew: string } } })
    .spec;
  assert.equal(spec.legacyTokens.rotateOn, ['InvalidToken', 'StaleCA']);
  assert.equal(spec.legacyTokens.workloadKinds, ['Deployment', 'StatefulSet', 'DaemonSet']);
  assert.is(spec.clock.maxSkew, '30s');
  const ok = (s: unknown): string[] =>
    validateAuthPolicy({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: s }, schema).errors;
  assert.equal(ok({ legacyTokens: { rotateOn: [], workloadKinds: [], restartWorkloads: false } }), [], 'empty lists are legitimate when restarts are off');
  assert.equal(ok({ legacyTokens: { rotateOn: ['MaxAge'], maxAge: '720h', rolloutTimeout: '1h30m' }, clock: { maxSkew: '60s' } }), []);
  assert.equal(
    ok({
      legacyTokens: {
        namespaceSelector: {
          matchExpressions: [
            { key: 'example.com/team', operator: 'In', values: ['a', ''] },
            { key: 'x', operator: 'Exists' },
          ],
        },
      },
    }),
    [],
  );
  assert.equal(ok({ nodeAuthorization: { mode: 'Unmanaged', legacyBindingFallback: false } }), []);
});

test('a manifest file: YAML errors, missing documents and several policies are named', () => {
  assert.throws(
    () => policyDocument('p.yaml', 'spec: [a'),
    (e: Error) => e instanceof InvalidManifestError && /p\.yaml is not valid YAML/.test(e.message),
  );
  assert.throws(() => policyDocument('p.yaml', 'kind: ConfigMap\n---\nkind: Secret\n'), /holds no AuthPolicy document.*found: ConfigMap, Secret/);
  assert.throws(() => policyDocument('p.yaml', 'kind: AuthPolicy\n---\nkind: AuthPolicy\n'), /2 AuthPolicy documents/);
  assert.equal(
    policyDocument('p.yaml', 'apiVersion: v1\nkind: Authpolicy\n'),
    { apiVersion: 'v1', kind: 'Authpolicy' },
    'a lone document is validated, so the message names kind',
  );
  assert.throws(
    () => policyDocument('p.yaml', '- a\n- b\n'),
    (e: Error) =>
      e instanceof InvalidManifestError &&
      e.message === 'p.yaml holds a YAML list, not an AuthPolicy document (a mapping with apiVersion: authpolicy.io/v1alpha1 and kind: AuthPolicy)',
  );
  assert.throws(() => policyDocument('p.yaml', 'just text\n'), /p\.yaml holds a single string, not an AuthPolicy document/);
});

test('type hints: what to write instead of a quoted boolean or number, or a single value where a list belongs', async () => {
  const schema = await shippedSchema();
  const hints = typeHints(
    {
      apiVersion: 'authpolicy.io/v1alpha1',
      kind: 'AuthPolicy',
      metadata: { name: 'x' },
      spec: { dryRun: 'yes', legacyTokens: { rotateOn: 'StaleCA', maxConcurrentRestarts: '3', restartWorkloads: true } },
    },
    schema,
  );
  assert.equal(hints, [
    'spec.dryRun: "yes" is a string, not a boolean: write true or false, without quotes (YAML 1.2 reads yes/no/on/off as strings)',
    'spec.legacyTokens.rotateOn: "StaleCA" is a single value where a list belongs: write [StaleCA], or one "- StaleCA" line per item',
    'spec.legacyTokens.maxConcurrentRestarts: "3" is a string, not a number: write 3 without quotes',
  ]);
  assert.equal(typeHints({ spec: { dryRun: false, clock: { maxSkew: '30s' } } }, schema), [], 'nothing to hint on a well-typed manifest');
});

test("check names a finding's subject once", () => {
  assert.is(findingLine({ subject: 'secret a/b', health: 'action', message: 'a/b: token rejected' }), 'secret a/b: token rejected');
  assert.is(findingLine({ subject: 'secret a/b', health: 'action', message: 'secret a/b: token rejected' }), 'secret a/b: token rejected');
  assert.is(findingLine({ subject: 'node/x', health: 'action', message: 'clock ahead' }), 'node/x: clock ahead');
});

test.run();

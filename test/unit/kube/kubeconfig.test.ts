// Kubeconfig resolution as kubectl does it, on real files: first-wins merge of
// $KUBECONFIG, paths relative to their file, contexts, and delegation of the
// credentials this loader leaves to @kubernetes/client-node.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { loadConnection } from '../../../src/kube/kubeconfig.ts';

const test = suite('kubeconfig');
let dir: string;
const saved = process.env.KUBECONFIG;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
  await writeFile(join(dir, 'ca.crt'), 'CA');
  await writeFile(
    join(dir, 'a.yaml'),
    stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://a.example:6443/', 'certificate-authority': 'ca.crt' } }],
      users: [
        { name: 'u', user: { tokenFile: 'token' } },
        { name: 'exec', user: { exec: { command: 'x' } } },
      ],
      contexts: [
        { name: 'main', context: { cluster: 'c', user: 'u' } },
        { name: 'plugin', context: { cluster: 'c', user: 'exec' } },
      ],
      'current-context': 'main',
    }),
  );
  await writeFile(
    join(dir, 'b.yaml'),
    stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://b.example' } }],
      users: [{ name: 'v', user: { token: 'abc' } }],
      contexts: [{ name: 'other', context: { cluster: 'c', user: 'v' } }],
      'current-context': 'other',
    }),
  );
});
test.after(async () => {
  if (saved === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = saved;
  await rm(dir, { recursive: true, force: true });
});

test('one file: server without trailing slash, CA and token file resolved against the file', () => {
  const c = loadConnection({ kubeconfig: join(dir, 'a.yaml') });
  assert.is(c.server, 'https://a.example:6443');
  assert.is(c.tls.ca?.toString(), 'CA');
  assert.equal(c.token, { file: join(dir, 'token') });
  assert.is(c.delegate, undefined);
});

test('$KUBECONFIG: the first file to name a cluster or current-context wins; --context picks another', () => {
  process.env.KUBECONFIG = [join(dir, 'a.yaml'), join(dir, 'b.yaml')].join(delimiter);
  assert.is(loadConnection().server, 'https://a.example:6443');
  const other = loadConnection({ context: 'other' });
  assert.is(other.server, 'https://a.example:6443', 'cluster "c" comes from the first file');
  assert.equal(other.token, { value: 'abc' });
  assert.throws(() => loadConnection({ context: 'nope' }), /kubeconfig has no context "nope"; known contexts: main, plugin, other/);
});

test('an exec plugin is delegated to client-node with the same options', () => {
  const c = loadConnection({ kubeconfig: join(dir, 'a.yaml'), context: 'plugin' });
  assert.equal(c.delegate, { kubeconfig: join(dir, 'a.yaml'), context: 'plugin' });
});

test('an unreadable file is named', () => {
  assert.throws(() => loadConnection({ kubeconfig: join(dir, 'missing.yaml') }), /cannot read kubeconfig .*missing\.yaml/);
});

test.run();

import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { ApiserverFlagsReader, parseApiserverFlags } from '../../../src/kube/apiserver-flags.ts';
import { resourceOf, type KubeClient } from '../../../src/kube/client.ts';

const test = suite('kube-apiserver flags');

test('kubeadm static pod command line', () => {
  const f = parseApiserverFlags([
    'kube-apiserver',
    '--advertise-address=10.0.0.1',
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction,PodSecurity',
    '--service-account-max-token-expiration=48h',
  ]);
  assert.equal(f.authorizationModes, ['Node', 'RBAC']);
  assert.equal(f.admissionPlugins, ['NodeRestriction', 'PodSecurity']);
  assert.is(f.extendTokenExpiration, true);
  assert.is(f.maxTokenExpiration, '48h');
});

test("space-separated values and the seed's broken cluster", () => {
  const f = parseApiserverFlags([
    '/usr/local/bin/kube-apiserver',
    '--authorization-mode',
    'RBAC',
    '--enable-admission-plugins',
    'NodeRestriction',
    '--service-account-extend-token-expiration=false',
  ]);
  assert.equal(f.authorizationModes, ['RBAC']);
  assert.is(f.extendTokenExpiration, false);
});

test('structured authorization names no modes', () => {
  const f = parseApiserverFlags(['kube-apiserver', '--authorization-config=/etc/kubernetes/authz.yaml']);
  assert.is(f.authorizationModes, undefined);
  assert.is(f.authorizationConfigFile, '/etc/kubernetes/authz.yaml');
});

test('--disable-admission-plugins turns a plugin off', () => {
  const f = parseApiserverFlags(['kube-apiserver', '--enable-admission-plugins=PodSecurity', '--disable-admission-plugins=NodeRestriction']);
  assert.equal(f.admissionPlugins, ['PodSecurity']);
  assert.equal(
    parseApiserverFlags(['kube-apiserver', '--enable-admission-plugins=NodeRestriction', '--disable-admission-plugins=NodeRestriction']).admissionPlugins,
    [],
  );
});

test('resource of an API path, for request counters', () => {
  assert.is(resourceOf('/apis/authorization.k8s.io/v1/subjectaccessreviews'), 'subjectaccessreviews');
  assert.is(resourceOf('/api/v1/namespaces/kube-system/pods'), 'pods');
  assert.is(resourceOf('/api/v1/nodes/node-a'), 'nodes');
  assert.is(resourceOf('/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status'), 'authpolicies/status');
  assert.is(resourceOf('/apis/apps/v1/namespaces/ci/deployments/web'), 'deployments');
});

test('the static pod is listed at most every 30 s per client by the reader made at wiring time; a failed list is not kept', async () => {
  let lists = 0;
  let fail = false;
  const pod = { metadata: { name: 'kube-apiserver-cp' }, spec: { containers: [{ command: ['kube-apiserver', '--authorization-mode=Node,RBAC'] }] } };
  const client = {
    list: (path: string): Promise<unknown> => {
      lists++;
      assert.is(path, '/api/v1/namespaces/kube-system/pods');
      return fail ? Promise.reject(new Error('connection refused')) : Promise.resolve({ items: [pod] });
    },
  } as unknown as KubeClient;
  const reader = new ApiserverFlagsReader();
  const t0 = 1_000_000;
  assert.equal((await reader.read(client, t0)).authorizationModes, ['Node', 'RBAC']);
  await reader.read(client, t0 + 29_999);
  assert.is(lists, 1, 'within 30 s: the same read');
  fail = true;
  await reader.read(client, t0 + 30_000).catch(() => undefined);
  assert.is(lists, 2, '30 s later: listed again');
  fail = false;
  assert.is((await reader.read(client, t0 + 30_001)).podName, 'kube-apiserver-cp', 'the failure was not kept');
  assert.is(lists, 3);
  await new ApiserverFlagsReader().read(client, t0 + 30_002);
  assert.is(lists, 4, 'another reader (another process) has its own memo');
});

test.run();

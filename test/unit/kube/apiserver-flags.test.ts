import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseApiserverFlags } from '../../../src/kube/apiserver-flags.ts';
import { resourceOf } from '../../../src/kube/client.ts';

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

test.run();

// Retry per cause and what a 403 tells the user to grant: pure functions over the API
// server's own error shapes (messages as kube-apiserver 1.37 writes them).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { deniedPermission, describePermission, isApiMissing, retryCause } from '../../../src/kube/errors.ts';
import { permissionMessage } from '../../../src/policy/reconciler.ts';
import { apiError } from '../../support/builders.ts';

const test = suite('retry causes and denied permissions');

const forbiddenList = apiError(
  403,
  'secrets is forbidden: User "system:serviceaccount:authpolicy-system:authpolicy-operator" cannot list resource "secrets" in API group "" at the cluster scope',
);
const forbiddenCreate = apiError(
  403,
  'tokenreviews.authentication.k8s.io is forbidden: User "x" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope',
  { method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews' },
);
const conflict = apiError(409, 'Operation cannot be fulfilled on authpolicies.authpolicy.io "cluster": the object has been modified', {
  method: 'PUT',
  path: '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status',
});
const notFound = apiError(404, 'secrets "x" not found', { path: '/api/v1/namespaces/a/secrets/x', details: { kind: 'secrets' } });
const network = apiError(0, 'fetch failed (connect ECONNREFUSED 127.0.0.1:6443)');

test('a conflict retries at once, 403/404 on a bounded period, the rest with backoff; the most urgent of several wins', () => {
  assert.is(retryCause(conflict), 'conflict');
  assert.is(retryCause(forbiddenList), 'bounded');
  assert.is(retryCause(notFound), 'bounded');
  assert.is(retryCause(network), 'backoff');
  assert.is(retryCause(new Error('boom')), 'backoff');
  assert.is(retryCause(new AggregateError([forbiddenList, conflict])), 'conflict');
  assert.is(retryCause(new AggregateError([forbiddenList, notFound])), 'bounded');
  assert.is(retryCause(new AggregateError([forbiddenList, network])), 'backoff');
});

test('a 403 names the verb, resource and scope, from the message or else from the request', () => {
  assert.equal(deniedPermission(forbiddenList), { verb: 'list', resource: 'secrets', namespace: undefined });
  assert.equal(deniedPermission(forbiddenCreate), { verb: 'create', resource: 'tokenreviews.authentication.k8s.io', namespace: undefined });
  const bare = apiError(403, 'Forbidden', { method: 'PATCH', path: '/apis/apps/v1/namespaces/shop/deployments/web' });
  assert.equal(deniedPermission(bare), { verb: 'patch', resource: 'deployments.apps', namespace: 'shop' });
  assert.is(deniedPermission(conflict), undefined);
  assert.is(describePermission({ verb: 'list', resource: 'secrets', namespace: undefined }, ['list', 'watch']), 'list and watch secrets cluster-wide');
});

test('the condition message says what to grant, where, and that no restart is needed', () => {
  const msg = permissionMessage(forbiddenList, true) ?? '';
  assert.match(msg, 'may not list secrets cluster-wide');
  assert.match(msg, 'grant list and watch secrets cluster-wide');
  assert.match(msg, 'ClusterRole');
  assert.not.match(msg, 'system:serviceaccount', 'short: the user name is not repeated');
  assert.match(permissionMessage(forbiddenCreate, false) ?? '', 'grant create tokenreviews.authentication.k8s.io cluster-wide');
  assert.is(permissionMessage(conflict, false), undefined);
});

test("in check the missing permission is the user's, named, and a one-shot check does not claim to recover", () => {
  const msg = permissionMessage(forbiddenList, true, 'check') ?? '';
  assert.match(msg, /^the user check runs as \(\S+\) may not list secrets cluster-wide: run check again with a kubeconfig that may list and watch secrets/);
  assert.not.match(msg, "operator's ServiceAccount");
  assert.not.match(msg, 'recovers');
});

test('a 404 without a Status body is a missing API (a CRD not installed), a NotFound Status is a missing object', () => {
  assert.ok(isApiMissing(apiError(404, '404 page not found', { reason: 'Not Found', path: '/apis/authpolicy.io/v1alpha1/authpolicies' })));
  assert.not.ok(isApiMissing(notFound));
});

test.run();

import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { probeKubelets } from '../../../src/areas/nodeauth/probe.ts';

const test = suite('node authorization: the SubjectAccessReview probe');

/** A client whose every review is answered by `answer` (or throws what it throws), counting them. */
function reviewer(answer: () => { status: { allowed: boolean; reason: string } }) {
  const sent: string[] = [];
  const client = {
    create: (_path: string, body: { spec: { user: string } }) => {
      sent.push(body.spec.user);
      return Promise.resolve().then(answer);
    },
  } as unknown as KubeClient;
  return { client, sent };
}

test('every check of every sampled node is reviewed, and said which authorizer answered', async () => {
  const { client, sent } = reviewer(() => ({ status: { allowed: true, reason: '' } }));
  const probed = await probeKubelets(client, ['a', 'b', 'c']);
  assert.is(sent.length, 24, 'three nodes, eight checks each');
  assert.equal(
    probed.map((p) => p.node),
    ['a', 'b', 'c'],
  );
  assert.ok(probed.every((p) => p.results.length === 8 && p.results.every((r) => r.grantedBy === 'Node')));
  assert.is(probed[0]?.results[0]?.check, 'get nodes/a');
});

test('an API server that refuses reviews (403) costs one request, not nodes × checks, and the refusal is thrown', async () => {
  const { client, sent } = reviewer(() => {
    throw new KubeApiError({
      status: 403,
      reason: 'Forbidden',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      message: 'forbidden',
    });
  });
  try {
    await probeKubelets(client, ['a', 'b', 'c']);
    assert.unreachable('the probe should fail');
  } catch (err) {
    assert.instance(err, KubeApiError);
    assert.is((err as KubeApiError).status, 403);
  }
  assert.is(sent.length, 1);
});

test.run();

// The whole story of the four seeds on a local control plane, step by step,
// shared by the README's main command (scripts/demo.ts narrates it) and its
// e2e test (test/e2e/story.test.ts asserts on what it records). Every step
// waits, with a deadline, for what a cluster admin would check with kubectl.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { templateFingerprint } from '../../src/areas/legacytokens/caches.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { startCluster, mustKubectl, type Cluster, type ClusterOptions } from '../cluster/harness.ts';
import { OPERATOR_NAMESPACE, ROOT, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { watchConditions, type ConditionWatch } from '../cluster/condition-watch.ts';
import { getJson, tokenReview, waitForCondition, type ConditionView } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';
import {
  APP_NAMESPACE,
  DEPENDENTS,
  KUBELET_NODES,
  TOKEN_SECRETS,
  UNRELATED,
  breakCluster,
  migrateToProjectedTokens,
  waitForRollout,
  type BrokenCluster,
} from './broken-cluster.ts';

export interface Narrator {
  /** a numbered step begins */
  step(title: string): void;
  /** an explanation */
  say(text: string): void;
  /** a command and what it printed */
  show(command: string, output: string): void;
}

export interface StoryOptions {
  narrator: Narrator;
  /** extra kube-apiserver flags (the e2e test adds an audit log) */
  apiserverArgs?: ClusterOptions['apiserverArgs'];
  /** runs after the broken state is built, before config/default is applied */
  beforeInstall?: (cluster: Cluster) => Promise<void>;
  /** runs at the end, before anything is stopped */
  beforeTeardown?: (cluster: Cluster, record: StoryRecord) => Promise<void>;
}

export interface RotationRecord {
  secret: string;
  sameUid: boolean;
  tokenChanged: boolean;
  oldTokenRejected: boolean;
  newTokenAccepted: boolean;
}

/** What happened, for the summary and the e2e test's assertions (fingerprints, never token values). */
export interface StoryRecord {
  steps: { title: string; seconds: number; outcome: string }[];
  checkBeforeOperator?: { code: number; stdout: string };
  kubeletErrors: Record<string, string>;
  fallbackBindingSubjects?: string;
  bindingAfterSwitch?: boolean;
  rotations: RotationRecord[];
  restarted: Record<string, string | undefined>;
  /** the workload's pod template is the one the operator's restart produced (authpolicy.io/restarted-template) */
  templateIsOurs: Record<string, boolean>;
  skew?: ConditionView;
  finalReady?: ConditionView;
  /** `kubectl describe authpolicy cluster` at the end */
  describe?: string;
  /** AuthPolicy condition changes seen along the way, e.g. "LegacyTokensReady=False/Rotating" */
  transitions: string[];
  /** when the API server restarted (ms since epoch): RBAC answers 403 for a moment after each */
  apiserverRestarts: number[];
}

const POLICY = 'cluster';
const SAMPLE = join(ROOT, 'config/samples/authpolicy_v1alpha1_authpolicy.yaml');
const fingerprint = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 12);

/** Runs the story; throws (after cleaning up) if any step does not reach its expected state in time. */
export async function runStory(opts: StoryOptions): Promise<StoryRecord> {
  const n = opts.narrator;
  const record: StoryRecord = { steps: [], kubeletErrors: {}, rotations: [], restarted: {}, templateIsOurs: {}, transitions: [], apiserverRestarts: [] };
  let cluster: Cluster | undefined;
  let broken: BrokenCluster | undefined;
  let operator: OperatorProcess | undefined;
  let watcher: ConditionWatch | undefined;
  let stepStart = Date.now();
  let stepTitle = '';
  const step = (title: string): void => {
    stepStart = Date.now();
    stepTitle = title;
    n.step(title);
  };
  const done = (outcome: string): void => {
    record.steps.push({ title: stepTitle, seconds: Math.round((Date.now() - stepStart) / 100) / 10, outcome });
    n.say(`✔ ${outcome}`);
  };

  try {
    step("Start a fresh cluster in the seeds' broken state");
    cluster = await startCluster({ authorizationMode: 'RBAC', apiserverArgs: opts.apiserverArgs });
    const c = cluster;
    const kubectl = async (...args: string[]): Promise<string> => {
      const out = await mustKubectl(c, args);
      n.show(`kubectl ${args.map((a) => a.replace(join(ROOT, '/'), '')).join(' ')}`, out);
      return out;
    };
    n.say(
      `etcd, kube-apiserver --authorization-mode=RBAC (no Node authorizer, like the kubelets-forbidden incident's new cluster), kube-controller-manager and kube-scheduler on 127.0.0.1:${c.port}, up in ${(c.startupMs / 1000).toFixed(1)} s`,
    );
    broken = await breakCluster(c);
    for (const k of broken.kubelets) record.kubeletErrors[k.node] = k.lastError() ?? '';
    await kubectl('get', 'nodes');
    n.say(
      `The kubelets of ${KUBELET_NODES.join(', ')} use their real client certificates (O=system:nodes) and are refused:\n  ${record.kubeletErrors[KUBELET_NODES[0] ?? ''] ?? ''}`,
    );
    await kubectl('get', 'secrets,deployments,statefulsets,daemonsets', '-n', APP_NAMESPACE);
    const r = await runCheck(c, ['-f', SAMPLE]);
    record.checkBeforeOperator = { code: r.code, stdout: r.stdout };
    n.show(`authpolicy-operator check -f config/samples/authpolicy_v1alpha1_authpolicy.yaml   # exit ${r.code}`, r.stdout);
    done(
      `${KUBELET_NODES.length} nodes NotReady with forbidden kubelets; ${TOKEN_SECRETS.length} legacy token Secrets mounted by ${DEPENDENTS.length} workloads; check exits ${r.code}`,
    );

    step('Install the operator from config/default; run it from source under its ServiceAccount');
    await opts.beforeInstall?.(c);
    await kubectl('apply', '--server-side', '-k', join(ROOT, 'config/default'));
    await mustKubectl(c, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/authpolicies.authpolicy.io']);
    await waitForRollout(c, 'deployment/authpolicy-operator', OPERATOR_NAMESPACE);
    const pods = await mustKubectl(c, [
      'get',
      'pods',
      '-n',
      OPERATOR_NAMESPACE,
      '-l',
      'app.kubernetes.io/name=authpolicy-operator',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]);
    const pod = pods.split(' ')[0] ?? '';
    n.say(
      `No container runtime runs here: kwok plays the Deployment's two pods (they pass the namespace's restricted Pod Security level), and the operator runs from source as ${pod}, with a token of its ServiceAccount, so every call it makes is checked against the RBAC in config/rbac.`,
    );
    const startOp = async (): Promise<OperatorProcess> => {
      const op = startOperator({ kubeconfig: await operatorKubeconfig(c), args: ['--log-level=info', `--pod-name=${pod}`] });
      await op.waitForLog('leadership', (l) => l.message === 'became leader', 60_000);
      return op;
    };
    operator = await startOp();
    await waitFor(
      `pod ${pod} to be labelled leader`,
      async () => (await mustKubectl(c, ['get', 'pod', pod, '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.metadata.labels.authpolicy\\.io/leader}'])) === 'true',
    );
    await kubectl('get', 'pods', '-n', OPERATOR_NAMESPACE, '-L', 'authpolicy.io/leader');
    done(`operator elected leader (Lease authpolicy-system/authpolicy-operator); pod ${pod} labelled authpolicy.io/leader=true`);

    step('Apply the sample AuthPolicy: the fallback binding brings the nodes back');
    await kubectl('apply', '--server-side', '-f', SAMPLE);
    const seen = new Map<string, string>();
    watcher = watchConditions(c, POLICY, (conditions) => {
      for (const x of conditions) {
        const now = `${x.status}/${x.reason}`;
        if (seen.get(x.type) === now) continue;
        seen.set(x.type, now);
        record.transitions.push(`${x.type}=${now}`);
        n.say(`  · ${x.type}=${x.status} (${x.reason})`);
      }
    });
    await waitForCondition(c, POLICY, 'NodeAuthorizationReady', (x) => x.reason === 'LegacyBindingFallback');
    for (const k of broken.kubelets) await waitFor(`the kubelet of ${k.node} to be allowed again`, () => k.healthy());
    await waitFor('every node to be Ready', async () => !/NotReady|Unknown/.test(await mustKubectl(c, ['get', 'nodes', '--no-headers'])));
    const mounts = await waitForCondition(c, POLICY, 'BoundTokensHealthy', (x) => x.reason === 'LegacyTokensMounted');
    await kubectl('get', 'authpolicy');
    await kubectl('get', 'nodes');
    const subjects = await kubectl('get', 'clusterrolebinding', 'system:node', '-o', 'jsonpath={range .subjects[*]}{.kind}:{.name}{"\\n"}{end}');
    record.fallbackBindingSubjects = subjects.trim();
    n.say(
      `Not Ready yet, and rightly so: BoundTokensHealthy=False (${mounts.reason}) because pods still mount legacy token Secrets (the token-expiry-extension incident); the last step fixes that.`,
    );
    done(`ClusterRoleBinding system:node → ${record.fallbackBindingSubjects}; all ${KUBELET_NODES.length} kubelets allowed and their nodes Ready`);

    step('Switch kube-apiserver to --authorization-mode=Node,RBAC: the operator removes the binding it made');
    record.apiserverRestarts.push(Date.now());
    await c.restart({ authorizationMode: 'Node,RBAC' });
    await waitForCondition(c, POLICY, 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer', 90_000);
    // Deleted; the API server's bootstrap may put back its own empty (granting nothing) binding when it next starts.
    const bindingSubjects = async (): Promise<string> => {
      const binding = await getJson<{ subjects?: { kind: string; name: string }[] }>(c, ['clusterrolebinding', 'system:node']);
      return (binding?.subjects ?? []).map((x) => `${x.kind}:${x.name}`).join(' ');
    };
    await waitFor('the legacy binding to grant nothing any more', async () => (await bindingSubjects()) === '');
    const bindingGoneAt = Date.now();
    record.bindingAfterSwitch = (await bindingSubjects()) !== '';
    for (const k of broken.kubelets) await waitFor(`the kubelet of ${k.node} to work under the Node authorizer`, () => k.lastSuccessAt() > bindingGoneAt);
    await kubectl('get', 'authpolicy');
    const after = await c.kubectl(['get', 'clusterrolebinding', 'system:node', '-o', 'wide']);
    n.show('kubectl get clusterrolebinding system:node -o wide', after.code === 0 ? after.stdout : after.stderr);
    await kubectl('get', 'nodes');
    done('NodeAuthorizationReady=True (NodeAuthorizer); the fallback binding deleted; kubelets keep working through the Node authorizer');

    step('Regenerate the service-account signing key (the dead-legacy-token incident): tokens rotated in place, workloads restarted');
    const admin = KubeClient.fromOptions({ kubeconfig: c.adminKubeconfig });
    const before = new Map<string, { uid: string; token: string }>();
    for (const s of TOKEN_SECRETS) {
      const secret = await getJson<{ metadata: { uid: string }; data?: { token?: string } }>(c, ['secret', s, '-n', APP_NAMESPACE]);
      before.set(s, { uid: secret?.metadata.uid ?? '', token: Buffer.from(secret?.data?.token ?? '', 'base64').toString() });
    }
    // The operator's own bound token is signed with the old key too: its pod restarts with a fresh one.
    await operator.stop();
    record.apiserverRestarts.push(Date.now());
    await c.restart({ newSigningKey: true });
    const dead = await tokenReview(c, before.get(TOKEN_SECRETS[0] ?? '')?.token ?? '');
    n.say(
      `The old ${TOKEN_SECRETS[0] ?? ''} token no longer authenticates (${dead.error ?? 'rejected'}): the seed's 401s. The operator's own token is dead too: its container restarts with a fresh one (the kubelet would refresh it within ~8 min).`,
    );
    operator = await startOp();
    await waitForCondition(c, POLICY, 'LegacyTokensReady', (x) => x.status === 'True', 180_000);
    await waitForCondition(c, POLICY, 'WorkloadsRestarted', (x) => x.status === 'True' && x.reason === 'AllRestarted', 180_000);
    for (const s of TOKEN_SECRETS) {
      const secret = await getJson<{ metadata: { uid: string }; data?: { token?: string } }>(c, ['secret', s, '-n', APP_NAMESPACE]);
      const token = Buffer.from(secret?.data?.token ?? '', 'base64').toString();
      const old = before.get(s);
      record.rotations.push({
        secret: s,
        sameUid: secret?.metadata.uid === old?.uid,
        tokenChanged: fingerprint(token) !== fingerprint(old?.token ?? ''),
        oldTokenRejected: !(await tokenReview(c, old?.token ?? '')).authenticated,
        newTokenAccepted: (await tokenReview(c, token)).authenticated,
      });
    }
    for (const w of [...DEPENDENTS, UNRELATED]) {
      await waitForRollout(c, w);
      const out = await mustKubectl(c, ['get', w, '-n', APP_NAMESPACE, '-o', 'jsonpath={.spec.template.metadata.annotations.authpolicy\\.io/restartedAt}']);
      record.restarted[w] = out.trim() || undefined;
      // Read as the operator's cache reads it (the API server's own JSON, not kubectl's re-encoding).
      const [kind = '', name = ''] = w.split('/');
      const obj = await admin.request<{ metadata: { annotations?: Record<string, string> }; spec: { template: unknown } }>(
        'GET',
        `/apis/apps/v1/namespaces/${APP_NAMESPACE}/${kind}s/${name}`,
      );
      record.templateIsOurs[w] = obj.metadata.annotations?.['authpolicy.io/restarted-template'] === templateFingerprint(obj.spec.template);
    }
    await kubectl('get', 'authpolicy');
    await kubectl(
      'get',
      'secrets',
      '-n',
      APP_NAMESPACE,
      '-o',
      'custom-columns=SECRET:.metadata.name,UID:.metadata.uid,ROTATION:.metadata.annotations.authpolicy\\.io/rotation-state,ROTATED-AT:.metadata.annotations.authpolicy\\.io/rotated-at',
    );
    await kubectl(
      'get',
      'deployments,statefulsets,daemonsets',
      '-n',
      APP_NAMESPACE,
      '-o',
      'custom-columns=WORKLOAD:.metadata.name,KIND:.kind,RESTARTED-AT:.spec.template.metadata.annotations.authpolicy\\.io/restartedAt',
    );
    await kubectl('get', 'replicasets', '-n', APP_NAMESPACE);
    const restartedCount = DEPENDENTS.filter((w) => record.restarted[w]).length;
    done(
      `${record.rotations.filter((x) => x.sameUid && x.tokenChanged && x.newTokenAccepted).length}/${TOKEN_SECRETS.length} Secrets re-issued under the same name; ${restartedCount}/${DEPENDENTS.length} dependents restarted one at a time; ${UNRELATED} untouched`,
    );

    step("A kubelet's clock jumps 2 minutes ahead (the clock-skew incident): the operator names it");
    const skewed = broken.kubelets[KUBELET_NODES.length - 1];
    skewed?.setClockSkew(120);
    // Named once 3 of its last 5 listed renewals say so (every 10 s at this size; the crossing wakes a reconcile at once): within a minute.
    record.skew = await waitForCondition(c, POLICY, 'ClockSynchronized', (x) => x.status === 'False' && x.message.includes(skewed?.node ?? '?'), 120_000);
    await kubectl('get', 'authpolicy');
    n.say(`ClockSynchronized=False (${record.skew.reason}): ${record.skew.message}`);
    skewed?.setClockSkew(0);
    n.say(`NTP fixed on ${skewed?.node ?? ''}:`);
    await waitForCondition(c, POLICY, 'ClockSynchronized', (x) => x.status === 'True', 120_000);
    await kubectl('get', 'authpolicy');
    done(`${skewed?.node ?? ''} flagged as ${record.skew.reason}, then back in sync`);

    step('Move the workloads to projected, expiring tokens (the lasting fix): Ready=True');
    n.say("Each workload now uses its ServiceAccount's projected token (automountServiceAccountToken) instead of a legacy token Secret.");
    await migrateToProjectedTokens(c);
    await waitForCondition(c, POLICY, 'BoundTokensHealthy', (x) => x.status === 'True', 90_000);
    await kubectl('wait', '--for=condition=Ready', `authpolicy/${POLICY}`, '--timeout=90s');
    record.finalReady = await waitForCondition(c, POLICY, 'Ready', (x) => x.status === 'True');
    await kubectl('get', 'authpolicy', '-o', 'wide');
    n.say('What the operator did, as Events on the AuthPolicy (also under Events in kubectl describe authpolicy cluster):');
    await kubectl(
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      `involvedObject.kind=AuthPolicy,involvedObject.name=${POLICY}`,
      '--sort-by=.firstTimestamp',
      '-o',
      'custom-columns=TYPE:.type,REASON:.reason,COUNT:.count,MESSAGE:.message',
    );
    record.describe = await mustKubectl(c, ['describe', 'authpolicy', POLICY]);
    done(`no pod mounts a legacy token Secret any more; Ready=True (${record.finalReady.reason})`);

    await opts.beforeTeardown?.(c, record);
    return record;
  } finally {
    watcher?.stop();
    await operator?.stop();
    await broken?.stop();
    await cluster?.stop();
  }
}

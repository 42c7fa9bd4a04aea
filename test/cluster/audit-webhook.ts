// A control plane whose API server sends audit events (config/audit/policy.yaml)
// to the operator's audit webhook receiver, with the webhook's own PKI: a CA for
// the receiver's serving certificate and the API server's client certificate.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from './harness.ts';
import { ROOT } from './operator.ts';
import { createCA, issueCert } from './pki.ts';
import { freePort } from './ports.ts';

export interface AuditedCluster {
  cluster: Cluster;
  /** where the operator's receiver must listen */
  receiverPort: number;
  /** the `run` flags that turn the receiver on with the certificates the API server trusts */
  receiverArgs: string[];
}

/** Starts a cluster auditing to https://127.0.0.1:<receiverPort>/audit; certificates go under `dir`. */
export async function startAuditedCluster(dir: string): Promise<AuditedCluster> {
  const ca = await createCA(dir, 'audit-ca');
  const serving = await issueCert(dir, ca, { name: 'receiver', commonName: 'authpolicy-audit', altNames: ['IP:127.0.0.1'] });
  const client = await issueCert(dir, ca, { name: 'apiserver-audit-client', commonName: 'kube-apiserver-audit' });
  const receiverPort = await freePort();
  const webhook = join(dir, 'webhook.kubeconfig');
  await writeFile(
    webhook,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'op', cluster: { server: `https://127.0.0.1:${receiverPort}/audit`, 'certificate-authority': ca.cert } }],
      users: [{ name: 'apiserver', user: { 'client-certificate': client.cert, 'client-key': client.key } }],
      contexts: [{ name: 'audit', context: { cluster: 'op', user: 'apiserver' } }],
      'current-context': 'audit',
    }),
  );
  const cluster = await startCluster({
    scheduler: false,
    apiserverArgs: [
      `--audit-policy-file=${ROOT}/config/audit/policy.yaml`,
      `--audit-webhook-config-file=${webhook}`,
      '--audit-webhook-batch-max-wait=1s',
      '--audit-webhook-initial-backoff=1s',
    ],
  });
  const receiverArgs = [
    `--audit-webhook-bind-address=127.0.0.1:${receiverPort}`,
    `--audit-webhook-cert-file=${serving.cert}`,
    `--audit-webhook-key-file=${serving.key}`,
    `--audit-webhook-client-ca-file=${ca.cert}`,
  ];
  return { cluster, receiverPort, receiverArgs };
}

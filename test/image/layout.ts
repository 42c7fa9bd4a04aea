// Reading the OCI layout image/build.sh writes: index.json names one image
// index (tag <version>), whose manifests are one per platform. umoci unpacks a
// tag that resolves to one manifest, so unpack() tags the chosen platform's
// manifest in a view of the layout (its own index.json, the blobs linked).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const ARCHES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}
export interface Platform {
  descriptor: Descriptor;
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: { architecture: string; os: string; config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Labels?: Record<string, string> } };
}
export interface Layout {
  path: string;
  tag: string;
  /** the descriptor index.json holds: the image index */
  entry: Descriptor;
  index: { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
  platforms: Record<string, Platform>;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
export const run = (file: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<Result> =>
  new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 10 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
export const must = async (file: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> => {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
};

/** A blob's bytes, checked against its descriptor's digest and size. */
export async function blob(layout: string, d: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
  const [algo, hex] = d.digest.split(':');
  if (algo !== 'sha256' || !hex) throw new Error(`${layout}: unexpected digest ${d.digest}`);
  const bytes = await readFile(join(layout, 'blobs', algo, hex));
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== d.digest) throw new Error(`${layout}: blob ${d.digest} hashes to ${actual}`);
  if (bytes.length !== d.size) throw new Error(`${layout}: blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`);
  return bytes;
}
const json = async <T>(layout: string, d: Descriptor): Promise<T> => JSON.parse((await blob(layout, d)).toString('utf8')) as T;

export async function readLayout(path: string): Promise<Layout> {
  const top = JSON.parse(await readFile(join(path, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  if (top.manifests.length !== 1 || !top.manifests[0]) throw new Error(`${path}/index.json: ${top.manifests.length} entries, expected one image index`);
  const entry = top.manifests[0];
  const index = await json<Layout['index']>(path, entry);
  const platforms: Record<string, Platform> = {};
  for (const descriptor of index.manifests) {
    const manifest = await json<Platform['manifest']>(path, descriptor);
    const config = await json<Platform['config']>(path, manifest.config);
    platforms[descriptor.platform?.architecture ?? '?'] = { descriptor, manifest, config };
  }
  return { path, tag: entry.annotations?.['org.opencontainers.image.ref.name'] ?? '', entry, index, platforms };
}

/** Unpacks one platform's image into bundle/ (rootfs/ and config.json) with umoci. */
export async function unpack(layout: Layout, arch: string, work: string, bundle: string): Promise<void> {
  const platform = layout.platforms[arch];
  if (!platform) throw new Error(`${layout.path}: no ${arch} manifest in the image index`);
  const view = join(work, `layout-${arch}`);
  await mkdir(view, { recursive: true });
  await writeFile(join(view, 'oci-layout'), await readFile(join(layout.path, 'oci-layout')));
  await symlink(join(layout.path, 'blobs'), join(view, 'blobs'));
  await writeFile(
    join(view, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...platform.descriptor, platform: undefined, annotations: { 'org.opencontainers.image.ref.name': arch } }],
    }),
  );
  await must('umoci', ['unpack', '--image', `${view}:${arch}`, bundle]);
}

/** ELF e_machine of a file: 62 x86-64, 183 AArch64 (little-endian ELF64 only). */
export const EM = { amd64: 62, arm64: 183 } as const;
export async function elfMachine(file: string): Promise<number> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(20);
  try {
    await fh.read(head, 0, 20, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('latin1', 0, 4) !== '\x7fELF') throw new Error(`${file} is not an ELF file`);
  if (head[4] !== 2 || head[5] !== 1) throw new Error(`${file} is not a little-endian 64-bit ELF file`);
  return head.readUInt16LE(18);
}

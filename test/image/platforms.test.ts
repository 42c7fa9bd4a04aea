// Each platform of the image index holds binaries for its architecture: the
// linux/arm64 image, unpacked, has an AArch64 node, dynamic loader, libc and
// libstdc++ (ELF e_machine 183), the linux/amd64 one x86-64 (62); and the arm64
// node runs, under qemu-aarch64-static (Debian's qemu-user-static, which
// image/build.sh installs; no binfmt registration: qemu runs the binary with the
// image's root filesystem as its library prefix): `node --version` is the
// pinned version, process.arch is arm64, and the operator's CLI loads.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { ROOT } from '../cluster/operator.ts';
import { ARCHES, elfMachine, EM, must, readLayout, run, unpack, type Layout } from './layout.ts';

const test = suite('image platforms');
const LAYOUT = process.env.IMAGE_LAYOUT ?? join(ROOT, 'image/out/oci');
const LIB = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' } as const;
const LOADER = { amd64: 'lib64/ld-linux-x86-64.so.2', arm64: 'lib/ld-linux-aarch64.so.1' } as const;
let work: string;
let layout: Layout;
/** The file a loader symlink names, relative to the root filesystem (absolute or relative link). */
async function loaderTarget(root: string, link: string): Promise<string> {
  const target = await readlink(join(root, link));
  return target.startsWith('/') ? target.slice(1) : join(dirname(link), target);
}
const rootfs = (arch: string): string => join(work, `bundle-${arch}`, 'rootfs');

test.before(async () => {
  try {
    if (!existsSync(join(LAYOUT, 'index.json'))) await must('bash', [join(ROOT, 'image/build.sh')], { timeoutMs: 20 * 60_000 });
    work = await mkdtemp(join(tmpdir(), 'authpolicy-image-platforms-'));
    layout = await readLayout(LAYOUT);
    for (const arch of ARCHES) await unpack(layout, arch, work, join(work, `bundle-${arch}`));
  } catch (err) {
    console.error(err); // uvu reports no error thrown by a hook
    throw err;
  }
});
test.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

for (const arch of ARCHES) {
  test(`${arch}: node, the dynamic loader, libc and libstdc++ are ${arch} ELF files (e_machine ${EM[arch]})`, async () => {
    const root = rootfs(arch);
    const loader = join(root, LOADER[arch]);
    assert.ok(existsSync(loader), `${LOADER[arch]} (node's ELF interpreter) exists`);
    const files = [
      'usr/local/bin/node',
      await loaderTarget(root, LOADER[arch]),
      `lib/${LIB[arch]}/libc.so.6`,
      `usr/lib/${LIB[arch]}/libstdc++.so.6`,
      `lib/${LIB[arch]}/libgcc_s.so.1`,
    ];
    for (const f of files) assert.is(await elfMachine(join(root, f)), EM[arch], `${f} e_machine`);
    const other = arch === 'amd64' ? 'arm64' : 'amd64';
    assert.not.ok(existsSync(join(root, `lib/${LIB[other]}`)), `no ${other} libraries in the ${arch} image`);
  });
}

test("arm64: the image's node runs under qemu-aarch64-static: the pinned version, process.arch arm64, the CLI loads", async () => {
  const root = rootfs('arm64');
  const node = join(root, 'usr/local/bin/node');
  const qemu = (args: string[]): ReturnType<typeof run> => run('qemu-aarch64-static', ['-L', root, node, ...args], { timeoutMs: 3 * 60_000 });
  const nodeVersion = /^_node_version=(.+)$/m.exec(await readFile(join(ROOT, 'scripts/node-env.sh'), 'utf8'))?.[1];
  const version = await qemu(['--version']);
  assert.is(version.code, 0, `qemu-aarch64-static ${node} --version: ${version.stderr}`);
  assert.is(version.stdout.trim(), `v${nodeVersion}`);
  const arch = await qemu(['-p', 'process.arch + " " + process.platform']);
  assert.is(arch.code, 0, arch.stderr);
  assert.is(arch.stdout.trim(), 'arm64 linux');
  const help = await qemu([join(root, 'app/bin/authpolicy-operator.js'), '--help']);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: authpolicy-operator /);
  assert.match(help.stdout, /\brun \[options\]/);
});

test.run();

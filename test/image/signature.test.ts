// The image index is signed and carries its SBOM as a CycloneDX attestation,
// both verifiable with cosign (built from the Go module proxy) and a public key,
// offline (no transparency log):
// - `make image`'s own signature: image/out/signed (what image/sign.sh saved)
//   verifies with image/out/cosign.pub, for the index image/out/oci holds;
// - a key this test generates (cosign generate-key-pair, password set) signs
//   the same index through image/sign.sh (COSIGN_KEY); the saved layout is
//   pushed with `cosign load` to go-containerregistry's registry on loopback and
//   verified there as an admission controller would: the signature and the
//   attestation by the index digest and by the tag, the attestation's predicate
//   being sbom.cdx.json; another key is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { ROOT } from '../cluster/operator.ts';
import { waitFor } from '../cluster/wait.ts';
import { must, readLayout, run, type Layout } from './layout.ts';

const test = suite('image signature');
const OUT = process.env.IMAGE_OUT ?? join(ROOT, 'image/out');
const PASSWORD = 'test-only-password';
let tools: string;
let work: string;
let layout: Layout;
let registry: ChildProcess | undefined;
let registryLog = '';
let repo: string;

const cosign = (args: string[], env: Record<string, string> = {}): ReturnType<typeof run> =>
  new Promise((resolve) => {
    // COSIGN_PASSWORD reaches cosign through the environment only
    const child = spawn(join(tools, 'cosign'), args, { env: { ...process.env, COSIGN_PASSWORD: PASSWORD, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
/** The payloads (in-toto statements or simple signing documents) cosign verify* prints, one JSON per line. */
const payloads = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{') || l.startsWith('['))
    .flatMap((l): Record<string, unknown>[] => {
      const v = JSON.parse(l) as Record<string, unknown> | Record<string, unknown>[];
      return Array.isArray(v) ? v : [v];
    });
interface Statement {
  predicateType: string;
  subject: { digest: { sha256: string } }[];
  predicate: unknown;
}
const statement = (p: Record<string, unknown>): Statement => JSON.parse(Buffer.from(String(p.payload), 'base64').toString('utf8')) as Statement;

test.before(async () => {
  try {
    tools = (await must('bash', [join(ROOT, 'image/build-cosign.sh')], { timeoutMs: 40 * 60_000 })).trim().split('\n').pop() ?? '';
    if (!existsSync(join(OUT, 'oci/index.json'))) await must('bash', [join(ROOT, 'image/build.sh'), OUT], { timeoutMs: 20 * 60_000 });
    layout = await readLayout(join(OUT, 'oci'));
    // make image signs; a layout built by image/build.sh alone (or rebuilt since) is signed here the same way
    const signed = existsSync(join(OUT, 'signed.txt')) ? (await readFile(join(OUT, 'signed.txt'), 'utf8')).trim() : '';
    if (signed !== layout.entry.digest) await must('bash', [join(ROOT, 'image/sign.sh'), OUT]);
    work = await mkdtemp(join(tmpdir(), 'authpolicy-image-signature-'));
  } catch (err) {
    console.error(err); // uvu reports no error thrown by a hook
    throw err;
  }
});
test.after(async () => {
  if (registry && registry.exitCode === null) registry.kill('SIGTERM');
  if (work) await rm(work, { recursive: true, force: true });
});

test("make image's signature and SBOM attestation verify offline with image/out/cosign.pub", async () => {
  const signed = join(OUT, 'signed');
  const pub = join(OUT, 'cosign.pub');
  const verify = await cosign(['verify', '--key', pub, '--insecure-ignore-tlog', '--local-image', signed]);
  assert.is(verify.code, 0, verify.stderr);
  const [claim] = payloads(verify.stdout) as { critical?: { image?: { 'docker-manifest-digest'?: string } } }[];
  assert.is(claim?.critical?.image?.['docker-manifest-digest'], layout.entry.digest, 'the signature names the index digest');
  const att = await cosign(['verify-attestation', '--key', pub, '--insecure-ignore-tlog', '--type', 'cyclonedx', '--local-image', signed]);
  assert.is(att.code, 0, att.stderr);
  const [p] = payloads(att.stdout);
  assert.ok(p, 'an attestation');
  const s = statement(p);
  assert.is(s.predicateType, 'https://cyclonedx.org/bom');
  assert.is(`sha256:${s.subject[0]?.digest.sha256}`, layout.entry.digest);
  assert.equal(s.predicate, JSON.parse(await readFile(join(OUT, 'sbom.cdx.json'), 'utf8')), 'the predicate is sbom.cdx.json');
});

test('a key the test generates signs through image/sign.sh; pushed to a loopback registry, both verify there', async () => {
  const keys = join(work, 'keys');
  const gen = await must('mkdir', ['-p', keys]).then(
    () =>
      new Promise<number>((resolve) => {
        spawn(join(tools, 'cosign'), ['generate-key-pair'], { cwd: keys, env: { ...process.env, COSIGN_PASSWORD: PASSWORD }, stdio: 'ignore' }).on(
          'close',
          (c) => {
            resolve(c ?? -1);
          },
        );
      }),
  );
  assert.is(gen, 0, 'cosign generate-key-pair');
  const dest = join(work, 'signed-by-test');
  const sign = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', [join(ROOT, 'image/sign.sh'), OUT, dest], {
      env: { ...process.env, COSIGN_KEY: join(keys, 'cosign.key'), COSIGN_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  assert.is(sign.code, 0, sign.stderr);
  assert.is(sign.stdout.trim().split('\n').pop(), layout.entry.digest, 'sign.sh prints the signed index digest');
  assert.is(await readFile(join(dest, 'cosign.pub'), 'utf8'), await readFile(join(keys, 'cosign.pub'), 'utf8'), "sign.sh wrote COSIGN_KEY's public key");

  registry = spawn(join(tools, 'registry'), ['-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  registry.stderr?.on('data', (d: Buffer) => (registryLog += d.toString()));
  const port = await waitFor('the loopback registry to name its port', () => /serving on port (\d+)/.exec(registryLog)?.[1], {
    timeoutMs: 30_000,
  });
  repo = `localhost:${port}/authpolicy-operator`;
  const load = await cosign(['load', '--dir', join(dest, 'signed'), `${repo}:${layout.tag}`]);
  assert.is(load.code, 0, load.stderr);

  const pub = join(keys, 'cosign.pub');
  for (const ref of [`${repo}@${layout.entry.digest}`, `${repo}:${layout.tag}`]) {
    const verify = await cosign(['verify', '--key', pub, '--insecure-ignore-tlog', ref]);
    assert.is(verify.code, 0, `cosign verify ${ref}: ${verify.stderr}`);
    const [claim] = payloads(verify.stdout) as { critical?: { image?: { 'docker-manifest-digest'?: string } } }[];
    assert.is(claim?.critical?.image?.['docker-manifest-digest'], layout.entry.digest, `${ref}: the signature names the index digest`);
    const att = await cosign(['verify-attestation', '--key', pub, '--insecure-ignore-tlog', '--type', 'cyclonedx', ref]);
    assert.is(att.code, 0, `cosign verify-attestation ${ref}: ${att.stderr}`);
    const [p] = payloads(att.stdout);
    assert.ok(p, 'an attestation');
    const s = statement(p);
    assert.is(`sha256:${s.subject[0]?.digest.sha256}`, layout.entry.digest);
    assert.equal(s.predicate, JSON.parse(await readFile(join(OUT, 'sbom.cdx.json'), 'utf8')), 'the predicate is sbom.cdx.json');
  }

  // the registry serves the index as pushed: both platforms, by their digests
  const manifest = await (
    await fetch(`http://${repo.replace('/', '/v2/')}/manifests/${layout.tag}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })
  ).text();
  assert.equal(
    (JSON.parse(manifest) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest),
    layout.index.manifests.map((m) => m.digest),
  );

  // make image's (throwaway) key did not sign this copy: cosign refuses it
  const wrong = await cosign(['verify', '--key', join(OUT, 'cosign.pub'), '--insecure-ignore-tlog', `${repo}@${layout.entry.digest}`]);
  assert.is.not(wrong.code, 0, 'another key is refused');
  assert.match(wrong.stderr, /no matching signatures|invalid signature|failed to verify/i);
});

test.run();

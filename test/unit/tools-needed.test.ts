// While tools still build (a cold .ci/run), the test command runs first what is
// ready: a file's needs come from its tier and imports; the next file is the first
// whose tools are built, or whose tool failed (so it fails at once, not never).
import { fileURLToPath } from 'node:url';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { nextRunnable, toolsNeeded, toolsNeededByFile, type ToolState } from '../tools-needed.ts';

const test = suite('tools needed');
const root = fileURLToPath(new URL('../..', import.meta.url));

test('needs come from the tier and from harness imports', () => {
  assert.equal(toolsNeeded('unit', ["import { x } from '../helm/helm.ts';"]), []);
  assert.equal(toolsNeeded('integration', ['const s = "import { x } from \'../helm/helm.ts\'";']), []);
  assert.equal(toolsNeeded('e2e', ["import { startRealNode } from '../node/real-node.ts';", "} from '../helm/helm.ts';"]), [
    'build-binaries',
    'build-helm',
    'build-node',
  ]);
  assert.equal(toolsNeeded('image', []), ['build-binaries', 'image']);
});

test('the committed files that use a tool are found to need it, one level of local imports included', () => {
  assert.ok(toolsNeededByFile(root, `${root}test/e2e/rollouts.test.ts`).includes('build-rollouts'));
  assert.ok(toolsNeededByFile(root, `${root}test/e2e/real-node-tokens.test.ts`).includes('build-node'));
  assert.ok(toolsNeededByFile(root, `${root}test/integration/argocd-health.test.ts`).includes('build-argocd'));
  assert.ok(toolsNeededByFile(root, `${root}test/image/runc.test.ts`).includes('build-promtool')); // through ./prometheus-rules.ts
  assert.ok(toolsNeededByFile(root, `${root}test/image/signature.test.ts`).includes('build-cosign'));
  assert.equal(toolsNeededByFile(root, `${root}test/unit/schedule.test.ts`), []);
});

test('the first file whose tools are built runs; a failed tool makes its files runnable (to fail); else wait', () => {
  const states: Record<string, ToolState> = { 'build-binaries': 'ok', 'build-node': 'pending', 'build-helm': 'pending' };
  const state = (t: string): ToolState => states[t] ?? 'pending';
  const queue = [['build-binaries', 'build-node'], ['build-binaries'], []];
  assert.is(nextRunnable(queue, state), 1);
  assert.is(nextRunnable([['build-node'], ['build-helm']], state), undefined);
  states['build-helm'] = 'failed';
  assert.is(nextRunnable([['build-node'], ['build-node', 'build-helm']], state), 1);
});

test.run();

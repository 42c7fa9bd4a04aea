// Which built tools a test file needs, so that while test/build-tools.sh is still
// building (a cold .ci/run), the test command starts the files whose tools are
// ready and holds the others back, instead of waiting for every build first.
//
// A file's needs come from its tier (an e2e file starts a control plane; an image
// file runs the image) and from what it imports: a harness under test/<tool>/
// calls that tool's build script. Imports of files beside it ('./x.ts') count too,
// one level deep. The names are the markers test/build-tools.sh leaves in
// TOOLS_DONE_DIR: NAME.ok when built, NAME.failed when the build failed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** What an import (or a mention of a build script) means the file needs. */
const importOf = (dir: string): RegExp => new RegExp(`^(?:import\\b.*|\\}) from '\\.\\./${dir}/`, 'm');
const BY_IMPORT: readonly (readonly [RegExp, string])[] = [
  [importOf('node'), 'build-node'],
  [importOf('rollouts'), 'build-rollouts'],
  [importOf('argocd'), 'build-argocd'],
  [importOf('helm'), 'build-helm'],
  [importOf('prometheus'), 'build-promtool'],
  [/'image\/build-cosign\.sh'/, 'build-cosign'],
];

const BY_TIER: Readonly<Record<string, readonly string[]>> = {
  e2e: ['build-binaries'],
  image: ['build-binaries', 'image'],
};

/** The tools a test file needs, from its tier and the text of it and its local imports. */
export function toolsNeeded(tier: string, texts: readonly string[]): string[] {
  if (tier === 'unit') return []; // pure by definition: no tool, whatever its text mentions
  const needs = new Set(BY_TIER[tier] ?? []);
  for (const text of texts) for (const [pattern, tool] of BY_IMPORT) if (pattern.test(text)) needs.add(tool);
  return [...needs].sort();
}

/** toolsNeeded for a file on disk: its tier is the folder under test/. */
export function toolsNeededByFile(root: string, file: string): string[] {
  const tier = relative(join(root, 'test'), file).split(sep)[0] ?? '';
  const text = readFileSync(file, 'utf8');
  const local = [...text.matchAll(/from '\.\/([\w.-]+\.ts)'/g)]
    .map((m) => join(dirname(file), m[1] ?? ''))
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p, 'utf8'));
  return toolsNeeded(tier, [text, ...local]);
}

export type ToolState = 'ok' | 'failed' | 'pending';

/** A tool's state from the markers in dir. */
export function toolState(dir: string, tool: string): ToolState {
  if (existsSync(join(dir, `${tool}.failed`))) return 'failed';
  return existsSync(join(dir, `${tool}.ok`)) ? 'ok' : 'pending';
}

/**
 * The index of the next file to run: the first, in queue order, whose tools are all
 * built or one of whose tools failed (it runs and fails at once, naming the tool);
 * undefined when every file still waits for a build.
 */
export function nextRunnable(queue: readonly (readonly string[])[], state: (tool: string) => ToolState): number | undefined {
  const i = queue.findIndex((needs) => needs.every((t) => state(t) !== 'pending') || needs.some((t) => state(t) === 'failed'));
  return i < 0 ? undefined : i;
}

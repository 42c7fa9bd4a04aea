#!/usr/bin/env node
// The installed executable (also kubectl-authpolicy): runs the compiled CLI in dist/. In a
// clone where dist/ has not been built (`npm ci` does not build), it runs the TypeScript
// source itself: Node >= 22.18 strips the types (the source uses erasable syntax only).
// Node refuses to strip types under node_modules/, so an install from git needs a build:
// that case, and an older Node, get one line saying what to run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

if (existsSync(dist)) {
  await import(dist.href);
} else if (process.features.typescript && existsSync(source) && !root.split(/[\\/]/).includes('node_modules')) {
  await import(source.href);
} else {
  console.error(`authpolicy-operator: not built: run \`npm ci && npm run build\` in ${root} (or run it from a clone with Node >= 22.18)`);
  process.exit(2);
}

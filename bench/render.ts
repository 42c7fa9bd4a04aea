// Re-renders a results file's Markdown from its JSON: node bench/render.ts bench/results/<date>-<preset>.json
import { readFile, writeFile } from 'node:fs/promises';
import { markdown } from './markdown.ts';
import type { BenchResult } from './report.ts';

for (const file of process.argv.slice(2)) {
  const r = { operatorNodeOptions: '', ...(JSON.parse(await readFile(file, 'utf8')) as Partial<BenchResult>) } as BenchResult;
  await writeFile(file.replace(/\.json$/, '.md'), markdown(r));
  console.log(`wrote ${file.replace(/\.json$/, '.md')}`);
}

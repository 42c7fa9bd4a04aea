// `make verify`: the committed src/api/generated/authpolicy.ts must be exactly what
// scripts/generate-api-types.ts makes of the committed CRD. Exits 1 naming the stale file.
import { readFile } from 'node:fs/promises';
import { CRD_FILE, GENERATED_FILE, generateApiTypes } from '../../scripts/generate-api-types.ts';

const root = new URL('../../', import.meta.url);
const generated = generateApiTypes(await readFile(new URL(CRD_FILE, root), 'utf8'));
const committed = await readFile(new URL(GENERATED_FILE, root), 'utf8').catch(() => '(missing)');
if (generated !== committed) {
  const want = generated.split('\n');
  const got = committed.split('\n');
  const at = want.findIndex((line, i) => line !== got[i]);
  const line = at < 0 ? want.length : at;
  console.error(`${GENERATED_FILE}:${line + 1}: stale against ${CRD_FILE}: run \`npm run generate\` and commit it`);
  process.exitCode = 1;
} else {
  console.log(`${GENERATED_FILE} is what ${CRD_FILE} generates`);
}

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

// The house's one-way arrows (STYLE.md): cli → policy → areas → runtime, kube, api.
// A wrong-way import or an import circle fails lint (test/verify/architecture.test.ts proves it).
const forbid = (...groups) => ['error', { patterns: groups.map(([regex, message]) => ({ regex, message })) }];
const upward = {
  cli: ['(^|/)cli/', 'src/cli is the top: nothing below may import it'],
  policy: ['(^|/)policy/', 'src/policy sits above the areas: import downwards only (cli → policy → areas → runtime, kube, api)'],
  areas: ['(^|/)areas/', 'runtime, kube and api know no area: move the shared piece down into kube/ or api/'],
  runtime: ['(^|/)runtime/', 'kube and api sit below runtime'],
  kube: ['(^|/)kube/', 'api is pure: it imports nothing of kube'],
};
const AREAS = ['nodeauth', 'legacytokens', 'clock', 'boundtokens'];
const layerRules = [
  { files: ['src/policy/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli) } },
  { files: ['src/areas/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli, upward.policy) } },
  { files: ['src/runtime/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli, upward.policy, upward.areas) } },
  { files: ['src/kube/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli, upward.policy, upward.areas, upward.runtime) } },
  { files: ['src/api/**/*.ts'], rules: { 'no-restricted-imports': forbid(upward.cli, upward.policy, upward.areas, upward.runtime, upward.kube) } },
  // An area never imports another area: each areas/<name>/ may reach only itself and areas/area.ts.
  ...AREAS.map((name) => ({
    files: [`src/areas/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': forbid(upward.cli, upward.policy, [
        `^(\\.\\./)+(areas/)?(${AREAS.filter((other) => other !== name).join('|')})/`,
        `an area never imports another area: move what ${name} shares down into kube/ or api/`,
      ]),
    },
  })),
  // No hidden state (CONTRIBUTING: state is explicit): time comes from ctx.now() or a clock made at wiring time,
  // and a memo is made at wiring time and passed in, never kept in a module.
  {
    files: ['src/areas/{nodeauth,legacytokens,clock,boundtokens}/**/*.ts', 'src/kube/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          ["CallExpression[callee.object.name='Date'][callee.property.name='now']", 'Date.now()'],
          ["NewExpression[callee.name='Date'][arguments.length=0]", 'new Date()'],
        ].map(([selector, what]) => ({ selector, message: `${what} hides the clock: read ctx.now(), or a clock made at wiring time and passed in` })),
        ...[
          'Program > VariableDeclaration[kind="let"]',
          'Program > ExportNamedDeclaration > VariableDeclaration[kind="let"]',
          'Program > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet)$/][arguments.length=0]',
          'Program > ExportNamedDeclaration > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet)$/][arguments.length=0]',
        ].map((selector) => ({
          selector,
          message: 'module-level mutable state: make it at wiring time (src/policy/areas.ts, the area index.ts) and pass it in',
        })),
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver()],
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'coverage/', 'bin/', 'eslint.config.js', 'image/out/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // Test, bench and CLI output is for people.
    files: ['test/**', 'bench/**', 'src/cli/**', 'scripts/**'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  ...layerRules,
);

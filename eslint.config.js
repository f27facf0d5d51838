// Lint rules that can fail CI: typescript-eslint's recommended set, the promise rules that need
// types (a floating promise is a step that ends before its work does), one import per module,
// sorted imports. Formatting belongs to prettier (`npm run format`), so its rules are off here.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'lib/', 'node_modules/', '.tools/', '.example/', 'test/fixtures/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      'no-duplicate-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  // The folder rule of docs/architecture.md: util/ stands alone; config/ and report/ describe and
  // render, so they never start BitBake or move caches.
  {
    files: ['src/util/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'util/ imports nothing of ours' }] }],
    },
  },
  {
    files: ['src/config/**/*.ts', 'src/report/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/bitbake/run.js', '**/cache/transfer.js', '**/pipeline.js'],
              allowTypeImports: true,
              message: 'config/ and report/ never start BitBake or move caches',
            },
          ],
        },
      ],
    },
  },
  // Names and conf values are checked for control characters on purpose.
  { rules: { 'no-control-regex': 'off' } },
  prettier,
);

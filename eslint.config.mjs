// ESLint flat config: typescript-eslint's type-checked rules for every workspace, import sorting,
// and eslint-config-prettier last so formatting is Prettier's job alone (`npm run format`).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Landed migrations never change (packages/db/test/migrations.append-only.test.ts), so no rule and
  // no --fix may touch them; Prettier leaves them out for the same reason.
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.turbo/**', 'coverage/**', 'loadtests/results/**', 'packages/db/src/migrations/**'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // Tests read HTTP answers and Redis replies as untyped JSON and assert on their fields: the
    // assertions are the type check there, so the no-unsafe-* family stays on for src/ only (the
    // shared test helpers in packages/test-support are test code too).
    files: ['**/test/**/*.ts', '**/*.test.ts', 'packages/test-support/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      'no-console': 'off',
    },
  },
  prettier,
);

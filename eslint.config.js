// Typed linting for every workspace: the rules that catch real bugs (a promise nobody awaits, an async function
// where a callback's result is ignored, `any` leaking across a seam) need the type checker, so each file is
// linted against the tsconfig that builds it (projectService finds it; renderer/tsconfig.json points at the app
// and test projects). Scripts outside any project (bench, scripts, vm-image) get the same promise rules through
// the default project.
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';
import globals from 'globals';
import prettier from 'eslint-config-prettier';

// JS/TS files that belong to no tsconfig: linted with types from an inferred project.
const LOOSE_FILES = [
  '*.js',
  'bench/*.mjs',
  'bench/lib/*.mjs',
  'scripts/*.mjs',
  'vm-image/*.mjs',
  '*/scripts/*.mjs',
  'renderer/vite.config.ts',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'vm-image/out/**',
      'bench/out/**',
      '**/dist-test/**',
      'test-output/**',
      'kube/src/schema/data/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  ...vue.configs['flat/recommended'],
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          allowDefaultProject: LOOSE_FILES,
          defaultProject: 'tsconfig.base.json',
          // The scripts and benches outgrew the default 8 (then 20); linting them through an explicit
          // tsconfig instead was measured no faster here (15 s of CPU either way), so the cap only names a size.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 60,
        },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.vue'],
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Off: an `async` method without `await` still turns its throws into rejections, which callers of a
      // Promise-returning interface (Sys, drivers, transports) rely on; dropping `async` would break that.
      '@typescript-eslint/require-await': 'off',
      // Re-rejecting what a `catch` caught (unknown) is passing an error on, not inventing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
    },
  },
  {
    files: ['**/*.vue'],
    languageOptions: {
      parser: vueParser,
      globals: { ...globals.browser },
      parserOptions: {
        parser: tseslint.parser,
        sourceType: 'module',
      },
    },
  },
  {
    files: ['renderer/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Prettier owns layout (of templates too): the stylistic rules it would fight are off.
  prettier,
  {
    // Plain JS has no type annotations to check: keep the promise rules, drop the ones that only flag `any`.
    files: ['**/*.js', '**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);

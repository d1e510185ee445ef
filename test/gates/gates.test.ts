// The tree's gates: lint, format and typecheck run inside `npm test`, so CI fails when the tree is not clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { REPO } from '../helpers/paths.js';

function gate(name: string, bin: string, args: string[]): void {
  test(`gate: ${name}`, () => {
    const r = spawnSync(path.join(REPO, 'node_modules/.bin', bin), args, {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    assert.equal(r.status, 0, `${name} failed:\n${(r.stdout + r.stderr).slice(-8000)}`);
  });
}

// One file of every kind in every workspace: a config change that silently drops a workspace, the typed rules
// or the .vue parser fails here rather than letting findings through.
const SAMPLES = [
  'common/src/log.ts',
  'agent/src/daemon.ts',
  'agent/test/token-gate.test.ts',
  'kube/src/errors.ts',
  'vm-image/src/build.ts',
  'electron/src/main.ts',
  'electron/test/settings.test.ts',
  'renderer/src/App.vue',
  'renderer/src/stores/list.ts',
  'renderer/test/stores.test.ts',
  'test/helpers/daemon.ts',
  'test/integration/system.test.ts',
  'bench/run.mjs',
  'scripts/run-tests.mjs',
];
const TYPED_RULES = [
  '@typescript-eslint/no-floating-promises',
  '@typescript-eslint/no-misused-promises',
  '@typescript-eslint/await-thenable',
];

test('gate: lint covers every workspace with the typed rules', async () => {
  const eslint = new ESLint({ cwd: REPO });
  for (const rel of SAMPLES) {
    const file = path.join(REPO, rel);
    assert.ok(existsSync(file), `${rel}: sample file is gone; pick another`);
    assert.equal(await eslint.isPathIgnored(file), false, `${rel} is not linted`);
    const config = (await eslint.calculateConfigForFile(file)) as {
      rules: Record<string, unknown[]>;
      languageOptions: { parserOptions: { projectService?: unknown; parser?: unknown } };
    };
    for (const rule of TYPED_RULES)
      assert.equal(config.rules[rule]?.[0], 2, `${rule} is not an error for ${rel}`);
    if (rel.endsWith('.ts'))
      assert.equal(config.rules['@typescript-eslint/consistent-type-imports']?.[0], 2, rel);
    assert.ok(config.languageOptions.parserOptions.projectService, `${rel} is linted without types`);
    if (rel.endsWith('.vue')) assert.ok(config.languageOptions.parserOptions.parser, `${rel}: no TS parser`);
  }
});

gate('lint (eslint .)', 'eslint', ['.', '--max-warnings', '0']);
gate('format (prettier --check .)', 'prettier', ['--check', '.']);
gate('typecheck (tsc -b)', 'tsc', ['-b']);
gate('typecheck renderer (vue-tsc)', 'vue-tsc', ['--noEmit', '-p', 'renderer/tsconfig.app.json']);

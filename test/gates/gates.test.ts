// The tree's gates: lint, format and typecheck run inside `npm test`, so CI fails when the tree is not clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
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

gate('lint (eslint .)', 'eslint', ['.']);
gate('format (prettier --check .)', 'prettier', ['--check', '.']);
gate('typecheck (tsc -b)', 'tsc', ['-b']);
gate('typecheck renderer (vue-tsc)', 'vue-tsc', ['--noEmit', '-p', 'renderer/tsconfig.app.json']);

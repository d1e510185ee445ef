#!/usr/bin/env node
// Finds the compiled test files and runs them with node's test runner; ends with "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suites = [
  'test/dist/gates',
  'common/dist',
  'agent/dist/test',
  'kube/dist/test',
  'vm-image/dist/test',
  'electron/dist/test',
  'renderer/dist-test',
  'test/dist/integration',
  'test/dist/e2e',
];

function find(dir, out = []) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) find(p, out);
    else if (n.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = suites.flatMap((s) => find(path.join(root, s)));
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const args = [
  '--test',
  '--test-concurrency=1',
  // A stuck test fails after 15 minutes instead of eating CI's whole limit. (--test-force-exit would also end files
  // that leave handles open, but it ends the runner before the summary reporter prints the closing line.)
  '--test-timeout=900000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${path.join(root, 'scripts/summary-reporter.mjs')}`,
  '--test-reporter-destination=stdout',
  ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root, env: process.env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

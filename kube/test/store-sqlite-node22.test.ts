/**
 * The shared store suite under the guest's Node 22, where the SQLite binding is the built-in node:sqlite: runs
 * store-sqlite.test.js with that binary (found or fetched as vm-image does) and requires it to pass whole.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { node22 } from './helpers/node22.js';

const here = path.dirname(fileURLToPath(import.meta.url));

it(
  'passes the store suite on node:sqlite under Node 22',
  {
    skip:
      Number(process.versions.node.split('.')[0]) >= 22 &&
      'this Node is 22: store-sqlite.test runs on node:sqlite already',
  },
  async () => {
    const node = await node22();
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_EXPECT_BINDING: 'node:sqlite' };
    // The outer test runner marks its children; the inner runner must report on its own.
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(node, ['--test', '--test-reporter=spec', path.join(here, 'store-sqlite.test.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const passed = Number(/ℹ pass (\d+)/.exec(out)?.[1] ?? 0);
    assert.equal(code, 0, `Node 22 run failed:\n${out.slice(-4000)}`);
    assert.match(out, /store suite: sqlite \(node:sqlite, Node 22\./);
    assert.ok(passed >= 15 && /ℹ fail 0/.test(out), out.slice(-2000));
    console.log(`# Node 22 (${node}): ${passed} store tests passed on node:sqlite`);
  },
);

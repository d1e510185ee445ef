/** The container state machine: the transitions table and its one writer (StateKeeper). */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { statusOf } from '../src/api/errors.js';
import type { ContainerRecord } from '../src/containers/record.js';
import { StateKeeper } from '../src/containers/state-keeper.js';
import { assertTransition, canTransition, initialState } from '../src/containers/state.js';
import { ContainerStore } from '../src/containers/store.js';
import { createLogger } from '../src/log.js';

describe('container state machine', () => {
  it('allows the lifecycle paths dockerd takes and nothing else', () => {
    for (const [from, to] of [
      ['created', 'running'],
      ['running', 'paused'],
      ['paused', 'running'],
      ['running', 'restarting'],
      ['restarting', 'running'],
      ['running', 'exited'],
      ['exited', 'running'],
      ['exited', 'removing'],
      ['removing', 'dead'],
    ] as const)
      assert.ok(canTransition(from, to), `${from} -> ${to}`);
    for (const [from, to] of [
      ['created', 'paused'],
      ['exited', 'paused'],
      ['exited', 'restarting'],
      ['removing', 'running'],
      ['dead', 'running'],
      ['paused', 'created'],
    ] as const) {
      assert.ok(!canTransition(from, to), `${from} -> ${to}`);
      // An illegal transition is an engine bug: a 500, never a silent state change.
      assert.throws(
        () => assertTransition('a'.repeat(64), from, to),
        (e: Error) => statusOf(e) === 500,
      );
    }
  });

  it('StateKeeper persists guarded transitions; a removal in progress stays in memory', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-state-'));
    try {
      const store = new ContainerStore(root, createLogger({ component: 'test' }));
      await store.load();
      const rec = { id: 'c'.repeat(64), name: '/c', state: initialState() } as ContainerRecord;
      const keeper = new StateKeeper(store);
      const onDisk = async () =>
        (JSON.parse(await fsp.readFile(store.files(rec.id).config, 'utf8')) as ContainerRecord).state;
      await keeper.move(rec, 'running', { pid: 42, hasBeenStarted: true });
      assert.deepEqual([(await onDisk()).status, (await onDisk()).pid], ['running', 42]);
      await assert.rejects(keeper.move(rec, 'created'), /illegal state transition running -> created/);
      assert.equal(rec.state.status, 'running', 'a refused transition changes nothing');
      await keeper.move(rec, 'exited', { exitCode: 3, pid: 0 });
      keeper.beginRemoval(rec);
      assert.equal(rec.state.status, 'removing');
      assert.equal((await onDisk()).status, 'exited', 'a crash mid-removal leaves a removable record');
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

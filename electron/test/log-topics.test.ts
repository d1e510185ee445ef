import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { closeTopicLogs, lineLog, ROTATE_BYTES, topicFile, topicLogger } from '../src/log/topics.js';
import { SettingsStore } from '../src/settings/store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
after(() => {
  closeTopicLogs();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a topic logger writes JSON lines with level, topic and fields to <topic>.log; lineLog picks the level', () => {
  const log = topicLogger(dir, 'vm', { driver: 'test' });
  log.info('start begins');
  log.child({ step: 2 }).error('start failed', { err: new Error('no disk') });
  const ports = lineLog(topicLogger(dir, 'ports'));
  ports('forwarding port', { port: 80 });
  ports('warning: cannot publish 127.0.0.1:80/tcp on the host', { port: 80 });
  const vm = lines(topicFile(dir, 'vm'));
  assert.deepEqual(
    vm.map((r) => [r.level, r.msg, r.topic, r.driver]),
    [
      ['info', 'start begins', 'vm', 'test'],
      ['error', 'start failed', 'vm', 'test'],
    ],
  );
  assert.equal(vm[1].err, 'no disk');
  assert.equal(vm[1].step, 2);
  assert.ok(!Number.isNaN(Date.parse(String(vm[0].time))));
  assert.deepEqual(
    lines(topicFile(dir, 'ports')).map((r) => r.level),
    ['info', 'warn'],
  );
});

test('a topic file above the size limit is moved aside when first opened; settings changes are logged', async () => {
  const file = topicFile(dir, 'cli');
  writeFileSync(file, 'x'.repeat(ROTATE_BYTES + 1));
  topicLogger(dir, 'cli').info('done', { code: 0 });
  assert.ok(existsSync(`${file}.1`));
  assert.equal(lines(file).length, 1);

  const settingsFile = path.join(dir, 'settings.json');
  writeFileSync(settingsFile, '{not json');
  const store = new SettingsStore(settingsFile, topicLogger(dir, 'settings'));
  await store.load();
  await store.update({ theme: 'dark' });
  const msgs = lines(topicFile(dir, 'settings')).map((r) => `${String(r.level)} ${String(r.msg)}`);
  assert.deepEqual(msgs, [
    'warn settings file is not JSON: kept aside, using defaults',
    'info settings updated',
  ]);
});

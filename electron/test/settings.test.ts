import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  applyPatch,
  CURRENT_VERSION,
  DEFAULTS,
  migrate,
  SettingsVersionError,
} from '../src/settings/schema.js';
import { SettingsStore } from '../src/settings/store.js';
import { pendingRestart } from '@berth/common';

test('a version-1 file is migrated step by step to the current shape', () => {
  const s = migrate({
    version: 1,
    memory: 8,
    mirror: 'https://mirror.local',
    darkMode: true,
    vm: { cpus: 4 },
  });
  assert.equal(s.version, CURRENT_VERSION);
  assert.equal(s.vm.memoryMiB, 8192);
  assert.equal(s.vm.cpus, 4);
  assert.equal(s.vm.diskGiB, DEFAULTS.vm.diskGiB);
  assert.deepEqual(s.registryMirrors, ['https://mirror.local']);
  assert.equal(s.theme, 'dark');
  assert.equal('memory' in s, false);
  assert.equal('darkMode' in s, false);
});

test('a file without version is treated as version 1; unknown keys and wrong types fall back', () => {
  const s = migrate({ theme: 'purple', startEngineOnLaunch: 'yes', bogus: 1 });
  assert.equal(s.theme, 'system');
  assert.equal(s.startEngineOnLaunch, true);
  assert.equal('bogus' in s, false);
});

test('a file from a newer Berth is refused, not mangled', () => {
  assert.throws(() => migrate({ version: CURRENT_VERSION + 1 }), SettingsVersionError);
});

test('patches are validated', () => {
  assert.throws(() => applyPatch(DEFAULTS, { vm: { cpus: 0 } }), /CPUs/);
  assert.throws(() => applyPatch(DEFAULTS, { vm: { memoryMiB: 100 } }), /512 MiB/);
  assert.throws(() => applyPatch(DEFAULTS, { theme: 'x' }), /invalid theme/);
  const s = applyPatch(DEFAULTS, { vm: { cpus: 6 }, insecureRegistries: ['127.0.0.1:5000'] });
  assert.equal(s.vm.cpus, 6);
  assert.equal(s.vm.memoryMiB, DEFAULTS.vm.memoryMiB);
  assert.deepEqual(s.insecureRegistries, ['127.0.0.1:5000']);
});

test('the store writes migrated files back, atomically, and keeps a corrupt file aside', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-settings-'));
  const file = path.join(dir, 'settings.json');
  await fsp.writeFile(file, JSON.stringify({ version: 2, darkMode: false }));
  const store = new SettingsStore(file);
  assert.equal((await store.load()).theme, 'light');
  assert.equal(
    (JSON.parse(await fsp.readFile(file, 'utf8')) as { version: number }).version,
    CURRENT_VERSION,
  );
  await store.update({ registryMirrors: ['http://127.0.0.1:5001'] });
  assert.deepEqual(new SettingsStore(file).get().registryMirrors, []);
  assert.deepEqual((await new SettingsStore(file).load()).registryMirrors, ['http://127.0.0.1:5001']);
  await fsp.writeFile(file, '{not json');
  assert.equal((await new SettingsStore(file).load()).theme, DEFAULTS.theme);
  const names = await fsp.readdir(dir);
  assert.ok(
    names.some((n) => n.startsWith('settings.json.corrupt-')),
    names.join(','),
  );
  assert.ok(!names.some((n) => n.endsWith('.tmp')));
  await fsp.rm(dir, { recursive: true, force: true });
});

test('registry settings are checked: host:port or CIDR for insecure registries, http(s) URLs for mirrors', () => {
  const ok = applyPatch(DEFAULTS, {
    insecureRegistries: ['10.0.2.2:5000', 'registry.local', '[fd00::1]:5000', '192.168.0.0/16'],
    registryMirrors: ['https://mirror.example:5000', 'http://10.0.2.2:5001/'],
  });
  assert.equal(ok.insecureRegistries.length, 4);
  assert.throws(
    () => applyPatch(DEFAULTS, { insecureRegistries: ['http://10.0.2.2:5000/v2'] }),
    /invalid insecure registry "http:\/\/10\.0\.2\.2:5000\/v2": use host:port/,
  );
  assert.throws(
    () => applyPatch(DEFAULTS, { insecureRegistries: ['a b'] }),
    /invalid insecure registry "a b"/,
  );
  assert.throws(
    () => applyPatch(DEFAULTS, { registryMirrors: ['mirror.local:5000'] }),
    /invalid registry mirror "mirror\.local:5000": use an http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(() => applyPatch(DEFAULTS, { insecureRegistries: 'x:1' }), /must be a list of strings/);
  assert.throws(() => applyPatch(DEFAULTS, { onQuit: 'sometimes' }), /invalid onQuit/);
  assert.equal(applyPatch(DEFAULTS, { onQuit: 'stop-engine' }).onQuit, 'stop-engine');
});

test('which changed settings wait for an engine restart', () => {
  const after = applyPatch(DEFAULTS, {
    theme: 'dark',
    insecureRegistries: ['10.0.2.2:5000'],
    vm: { cpus: 4 },
    startEngineOnLaunch: false,
  });
  assert.deepEqual(pendingRestart(DEFAULTS, after), ['vm.cpus', 'insecureRegistries']);
  assert.deepEqual(pendingRestart(after, after), []);
});

/** Finding QEMU, and what `berth start` says when it is not there. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findQemuTools, QemuMissingError } from '../src/vm/qemu/tools.js';

const BERTH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/berth');

function fakeBin(dir: string, ...names: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) {
    writeFileSync(path.join(dir, n), '#!/bin/sh\n');
    chmodSync(path.join(dir, n), 0o755);
  }
}

describe('QEMU tools', () => {
  it('found in BERTH_QEMU_DIR, in the app bundle (resources/qemu/bin), then on PATH', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'berth-qemu-'));
    try {
      fakeBin(path.join(d, 'own'), 'qemu-system-x86_64', 'qemu-img');
      fakeBin(path.join(d, 'res', 'qemu', 'bin'), 'qemu-system-aarch64', 'qemu-img');
      fakeBin(path.join(d, 'path'), 'qemu-system-x86_64', 'qemu-img');
      const env = { PATH: path.join(d, 'path') };
      assert.deepEqual(findQemuTools('amd64', 'linux', { ...env, BERTH_QEMU_DIR: path.join(d, 'own') }, ''), {
        system: path.join(d, 'own', 'qemu-system-x86_64'),
        img: path.join(d, 'own', 'qemu-img'),
      });
      assert.deepEqual(findQemuTools('arm64', 'darwin', env, path.join(d, 'res')), {
        system: path.join(d, 'res', 'qemu', 'bin', 'qemu-system-aarch64'),
        img: path.join(d, 'res', 'qemu', 'bin', 'qemu-img'),
      });
      assert.equal(
        findQemuTools('amd64', 'linux', env, '').system,
        path.join(d, 'path', 'qemu-system-x86_64'),
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('missing: names what is missing and how to get it on each platform', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'berth-qemu-'));
    try {
      fakeBin(d, 'qemu-img');
      const miss = (arch: 'amd64' | 'arm64', platform: 'linux' | 'darwin' | 'win32', dirs = d) => {
        try {
          findQemuTools(arch, platform, { PATH: dirs, ProgramFiles: d }, '');
        } catch (e) {
          assert.ok(e instanceof QemuMissingError);
          return e.message;
        }
        return assert.fail('QEMU is not there');
      };
      assert.match(
        miss('amd64', 'linux'),
        /^QEMU is not installed: the qemu driver needs qemu-system-x86_64, not found in PATH .*sudo apt-get install qemu-system-x86 qemu-utils.*berth start --driver native/,
      );
      assert.match(miss('amd64', 'linux', '/nonexistent'), /needs qemu-system-x86_64 and qemu-img/);
      assert.match(miss('arm64', 'darwin'), /needs qemu-system-aarch64.*brew install qemu/);
      assert.match(miss('amd64', 'win32'), /needs qemu-system-x86_64\.exe and qemu-img\.exe.*winget install/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('berth start on a host without QEMU says so and what to do, and creates nothing', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'berth-noqemu-'));
    try {
      // PATH holds only what bin/berth itself needs, so the host's QEMU is out of sight.
      const bin = path.join(d, 'bin');
      mkdirSync(bin);
      symlinkSync(process.execPath, path.join(bin, 'node'));
      for (const t of ['dirname', 'readlink']) symlinkSync(`/usr/bin/${t}`, path.join(bin, t));
      const home = path.join(d, 'home');
      const r = spawnSync(BERTH, ['start', '--driver', 'qemu'], {
        encoding: 'utf8',
        env: { PATH: bin, HOME: d, BERTH_HOME: home },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /^berth start: QEMU is not installed: the qemu driver needs qemu-system-(x86_64|aarch64) and qemu-img, not found in PATH .*sudo apt-get install/,
      );
      assert.doesNotMatch(r.stderr, /ENOENT/);
      assert.equal(existsSync(path.join(home, 'vm')), false, 'no VM directory or disk was made');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { probeBoot } from '../src/vm/qemu/accel.js';
import type { QemuPlan } from '../src/vm/qemu/args.js';

const plan: QemuPlan = {
  platform: 'linux',
  arch: 'amd64',
  accel: 'kvm',
  cpus: 1,
  memoryMiB: 256,
  kernel: '/k',
  initrd: '/i',
  rootfs: '/r',
};

/** A stand-in for qemu-system-*: a shell script that behaves like a working or a hung accelerator. */
function fakeQemu(body: string): string {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'berth-probe-')), 'qemu');
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
}

describe('acceleration probe', () => {
  it('a silent boot (a hung accelerator) fails after the silence window, not the whole timeout', async () => {
    const t0 = Date.now();
    const r = await probeBoot(fakeQemu('sleep 30'), plan, 10_000, 300);
    assert.equal(r.ok, false);
    assert.match(r.detail, /printed nothing within 0\.3 s/);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('a boot that prints, however slowly, gets the whole timeout to reach the marker', async () => {
    const r = await probeBoot(
      fakeQemu('echo "Linux version"; sleep 0.6; echo BERTH-PROBE-OK; sleep 30'),
      plan,
      10_000,
      300,
    );
    assert.deepEqual(r, { ok: true, detail: 'test boot reached userspace' });
  });
});

import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
  promises as fsp,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { limactl, limaYaml } from '../src/vm/lima/config.js';
import { LimaDriver, stageNativeSources } from '../src/vm/lima/driver.js';
import { planShares, shareablePath } from '../src/vm/qemu/shares.js';
import { contextArgs } from '../src/tunnel/context.js';
import { ensureKeyPair, keyBlob, tofuVerifier } from '../src/tunnel/keys.js';
import { loadVmConfig, saveVmConfig } from '../src/vm/config.js';
import { createDriver } from '../src/vm/factory.js';
import { nativeBerthdArgs } from '../src/vm/native/driver.js';
import { berthPaths } from '../src/vm/paths.js';
import { compactDiskCommand, createDiskCommand } from '../src/vm/qemu/disk.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'berth-vmt-'));
const resources = { cpus: 2, memoryMiB: 2048, diskGiB: 32 };

describe('lima driver', () => {
  it('writes a lima.yaml with the sizes, berthd mounted read-only, and the engine socket forwarded', () => {
    const y = limaYaml({
      resources,
      berthDir: '/h/.berth/vm/lima-berth',
      hostSocket: '/h/.berth/run/docker.sock',
      shareFolders: ['/Users/me'],
      arch: 'aarch64',
      vmType: 'vz',
    });
    assert.match(y, /^vmType: vz$/m);
    assert.match(y, /^arch: aarch64$/m);
    assert.match(y, /^cpus: 2$/m);
    assert.match(y, /^memory: "2048MiB"$/m);
    assert.match(y, /^disk: "32GiB"$/m);
    assert.match(y, /genericcloud-arm64\.qcow2/);
    assert.match(
      y,
      /location: "\/h\/\.berth\/vm\/lima-berth"\n {4}mountPoint: \/opt\/berth-src\n {4}writable: false/,
    );
    assert.match(y, /location: "\/Users\/me"\n {4}writable: true/);
    assert.match(
      y,
      /guestSocket: \/run\/berth\/docker\.sock\n {4}hostSocket: "\/h\/\.berth\/run\/docker\.sock"/,
    );
    assert.match(y, /ExecStart=\/opt\/berth\/node\/bin\/node \/opt\/berth\/berthd\.cjs/);
    // The helper is built in the guest, for the guest (the host's build is a macOS binary on a Mac).
    assert.match(
      y,
      /rm -f \/opt\/berth\.new\/berth-shim\n {6}make -s -C \/opt\/berth\.new\/native-src OUT=\/opt\/berth\.new\n/,
    );
    assert.match(y, /apt-get install .*\bgcc libc6-dev make\b/);
    assert.match(y, /systemctl restart berthd/);
  });

  it("stages the native helper's sources and Makefile for the guest to compile", async () => {
    const dir = tmp();
    const names = await stageNativeSources(path.join(REPO, 'agent/native'), path.join(dir, 'native-src'));
    assert.ok(
      names.includes('Makefile') && names.includes('shim.c') && names.includes('shim.h'),
      names.join(' '),
    );
    assert.ok(names.every((n) => existsSync(path.join(dir, 'native-src', n))));
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads the instance state from limactl, force-stops after the timeout, and deletes on reset', async () => {
    const dir = tmp();
    const log = path.join(dir, 'calls');
    const state = path.join(dir, 'state');
    const bin = path.join(dir, 'limactl');
    // A stand-in limactl: records its arguments; a graceful stop hangs, as it does when the guest is stuck.
    writeFileSync(
      bin,
      `#!/bin/sh\necho "$*" >> ${log}\ncase "$1 $2" in\n  "list --json") [ -f ${state} ] && printf '{"name":"berth","status":"%s"}\\n' "$(cat ${state})" ;;\n` +
        `  "stop --force") echo Stopped > ${state} ;;\n  "stop berth") sleep 1 ;;\n  "delete --force") rm -f ${state} ;;\n  "shell berth") echo "/: 1 GiB trimmed" ;;\nesac\nexit 0\n`,
    );
    chmodSync(bin, 0o755);
    const d = new LimaDriver({
      paths: berthPaths(path.join(dir, 'home')),
      resources,
      arch: 'arm64',
      limactl: bin,
    });
    assert.equal((await d.status()).state, 'stopped', 'no instance yet');
    writeFileSync(state, 'Running');
    assert.equal((await d.status()).state, 'running');
    await assert.rejects(d.reset(), /the Lima VM is running: stop it first/);
    assert.equal(await d.compact(), '/: 1 GiB trimmed');
    const steps: string[] = [];
    await d.stop(200, (m) => steps.push(m));
    assert.deepEqual(steps, ['Stopping the Lima VM']);
    assert.equal((await d.status()).state, 'stopped');
    await d.reset();
    assert.equal(existsSync(state), false);
    assert.deepEqual(await d.shell(), { kind: 'command', cmd: bin, args: ['shell', 'berth'] });
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(
      calls.filter((c) => !c.startsWith('list')),
      ['shell berth sudo fstrim -v /', 'stop berth', 'stop --force berth', 'delete --force berth'],
    );
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('drives limactl with fixed command lines', () => {
    assert.deepEqual(limactl.create('/h/lima.yaml'), [
      'create',
      '--name=berth',
      '--tty=false',
      '/h/lima.yaml',
    ]);
    assert.deepEqual(limactl.start(), ['start', '--tty=false', 'berth']);
    assert.deepEqual(limactl.stop(), ['stop', 'berth']);
    assert.deepEqual(limactl.forceStop(), ['stop', '--force', 'berth']);
    assert.deepEqual(limactl.list(), ['list', '--json', 'berth']);
    assert.deepEqual(limactl.delete(), ['delete', '--force', 'berth']);
    assert.deepEqual(limactl.shell(), ['shell', 'berth']);
  });
});

describe('native driver', () => {
  it('runs berthd on the host socket with its own data root and pid file', () => {
    const p = berthPaths('/h/.berth');
    assert.deepEqual(nativeBerthdArgs('/app/agent/dist/src/main.js', p), [
      '/app/agent/dist/src/main.js',
      '--data-root',
      '/h/.berth/native/data',
      '-H',
      'unix:///h/.berth/run/docker.sock',
      '--pidfile',
      '/h/.berth/native/berthd.pid',
    ]);
  });
});

describe('driver factory', () => {
  it('gives each platform its driver, and refuses native off Linux', () => {
    const paths = berthPaths('/h/.berth');
    const ctx = { paths, resources, shareFolders: [] };
    assert.equal(createDriver('qemu', { ...ctx, platform: 'darwin', hostArch: 'arm64' }).kind, 'qemu');
    assert.equal(createDriver('qemu', { ...ctx, platform: 'win32', hostArch: 'x64' }).kind, 'qemu');
    assert.equal(createDriver('lima', { ...ctx, platform: 'darwin', hostArch: 'arm64' }).kind, 'lima');
    assert.equal(createDriver('native', { ...ctx, platform: 'linux', hostArch: 'x64' }).kind, 'native');
    assert.throws(
      () => createDriver('native', { ...ctx, platform: 'darwin', hostArch: 'arm64' }),
      /needs a Linux host/,
    );
    assert.throws(
      () => createDriver('qemu', { ...ctx, platform: 'linux', hostArch: 'ia32' }),
      /no Berth guest for ia32/,
    );
  });
});

describe('data disk', () => {
  it('is a qcow2, compacted by a convert into a new file', () => {
    assert.deepEqual(createDiskCommand('/d.qcow2', 64).args, [
      'create',
      '-q',
      '-f',
      'qcow2',
      '/d.qcow2',
      '64G',
    ]);
    assert.deepEqual(compactDiskCommand('/d.qcow2', '/d.tmp').args, [
      'convert',
      '-q',
      '-O',
      'qcow2',
      '/d.qcow2',
      '/d.tmp',
    ]);
  });
});

describe('home folder sharing', () => {
  it('shares at the same path on Linux and macOS, not on Windows (no virtio-9p)', () => {
    assert.deepEqual(planShares('linux', ['/home/me']).shares, [
      { tag: 'share0', hostPath: '/home/me', guestPath: '/home/me' },
    ]);
    assert.equal(planShares('darwin', ['/Users/me']).shares.length, 1);
    const w = planShares('win32', ['C:/Users/me']);
    assert.equal(w.shares.length, 0);
    assert.match(w.warnings[0], /not available with QEMU on Windows/);
  });

  it('refuses paths the kernel command line cannot carry', () => {
    assert.match(shareablePath('/home/my docs')!, /space, comma or colon/);
    assert.match(shareablePath('relative')!, /not an absolute path/);
    assert.equal(shareablePath('/home/me'), undefined);
    assert.match(planShares('linux', ['/a,b']).warnings[0], /not sharing \/a,b/);
  });
});

describe('docker context', () => {
  it('creates, or updates when it exists, a context on the host socket', () => {
    assert.deepEqual(contextArgs(false, '/h/.berth/run/docker.sock'), [
      'context',
      'create',
      'berth',
      '--description',
      'Berth',
      '--docker',
      'host=unix:///h/.berth/run/docker.sock',
    ]);
    assert.equal(contextArgs(true, '/s')[1], 'update');
  });
});

describe('per-install SSH key', () => {
  it('is made once (private key 0600), reused after, and its blob is what the guest gets', async () => {
    const d = tmp();
    const a = await ensureKeyPair(path.join(d, 'k'), path.join(d, 'k.pub'));
    assert.match(a.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+ berth$/);
    assert.match(a.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
    assert.equal(statSync(path.join(d, 'k')).mode & 0o777, 0o600);
    const b = await ensureKeyPair(path.join(d, 'k'), path.join(d, 'k.pub'));
    assert.equal(b.publicKey, a.publicKey);
    assert.equal(keyBlob(a.publicKey), a.publicKey.split(' ')[1]);
    assert.throws(() => keyBlob('ssh-rsa AAAA x'), /not an ssh-ed25519 key/);
    await fsp.rm(d, { recursive: true });
  });

  it('trusts the guest key seen first and refuses another', async () => {
    const d = tmp();
    const v = tofuVerifier(path.join(d, 'vm', 'known_host'));
    assert.equal(v(Buffer.from('key-one')), true);
    assert.ok(existsSync(path.join(d, 'vm', 'known_host')));
    assert.equal(v(Buffer.from('key-one')), true);
    assert.equal(v(Buffer.from('key-two')), false);
    assert.match(readFileSync(path.join(d, 'vm', 'known_host'), 'utf8'), /^SHA256:/);
    await fsp.rm(d, { recursive: true });
  });
});

describe('VM config', () => {
  it('defaults to qemu sharing the home folder; keeps valid values and drops bad ones', async () => {
    const d = tmp();
    const paths = berthPaths(d);
    const def = await loadVmConfig(paths);
    assert.equal(def.driver, 'qemu');
    assert.deepEqual(def.shareFolders, [os.homedir()]);
    await saveVmConfig(paths, {
      driver: 'native',
      shareFolders: ['/x'],
      forwards: [{ hostPort: 1, guestPort: 2 }],
    });
    assert.deepEqual(await loadVmConfig(paths), {
      driver: 'native',
      shareFolders: ['/x'],
      forwards: [{ hostPort: 1, guestPort: 2 }],
    });
    await fsp.writeFile(
      path.join(d, 'vm-config.json'),
      JSON.stringify({ driver: 'hyperv', shareFolders: 'no', forwards: [{ hostPort: 'x' }] }),
    );
    assert.deepEqual(await loadVmConfig(paths), { ...def, forwards: [] });
    await fsp.writeFile(path.join(d, 'vm-config.json'), '{oops');
    await assert.rejects(loadVmConfig(paths), /vm-config\.json/);
    await fsp.rm(d, { recursive: true });
  });
});

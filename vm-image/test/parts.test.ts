import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGENT_ENTRY, stageAgent } from '../src/agent-tree.js';
import { cpioOf } from '../src/cpio.js';
import { modinfoDepends, resolveModules, stripSignature } from '../src/modules.js';
import { parseNeeded } from '../src/elf.js';

/** A fake .ko: just enough of a .modinfo section for the resolver (it reads the strings, not ELF). */
const ko = (deps: string) =>
  Buffer.concat([
    Buffer.from('\x7fELF....'),
    Buffer.from(`\0license=GPL\0depends=${deps}\0vermagic=6.1.0\0`),
  ]);

async function moduleTree(): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-mods-'));
  const put = async (rel: string, deps: string) => {
    await fsp.mkdir(path.join(root, 'kernel', path.dirname(rel)), { recursive: true });
    await fsp.writeFile(path.join(root, 'kernel', rel), ko(deps));
  };
  await put('fs/9p/9p.ko', '9pnet,netfs');
  await put('net/9p/9pnet.ko', '');
  await put('net/9p/9pnet_virtio.ko', '9pnet,virtio_ring');
  await put('fs/netfs/netfs.ko', '');
  await put('drivers/virtio/virtio-ring.ko', '');
  await put('x/a.ko', 'b');
  await put('x/b.ko', 'a');
  await fsp.writeFile(path.join(root, 'modules.builtin'), 'kernel/fs/ext4/ext4.ko\n');
  return root;
}

describe('kernel module resolution', () => {
  it('reads depends= from .modinfo', () => {
    assert.deepEqual(modinfoDepends(ko('9pnet,virtio-ring')), ['9pnet', 'virtio_ring']);
    assert.deepEqual(modinfoDepends(ko('')), []);
  });

  it('orders dependencies first, once each, treating - and _ alike; built-ins need no file', async () => {
    const root = await moduleTree();
    const r = await resolveModules(root, ['9pnet_virtio', '9p', 'ext4']);
    assert.deepEqual(r.order, [
      'kernel/net/9p/9pnet.ko',
      'kernel/drivers/virtio/virtio-ring.ko',
      'kernel/net/9p/9pnet_virtio.ko',
      'kernel/fs/netfs/netfs.ko',
      'kernel/fs/9p/9p.ko',
    ]);
    assert.deepEqual(r.builtin, ['ext4']);
    await fsp.rm(root, { recursive: true });
  });

  it('names a missing module and who needed it, and refuses cycles', async () => {
    const root = await moduleTree();
    await assert.rejects(
      resolveModules(root, ['nope']),
      /kernel module nope not found \(needed by the manifest\)/,
    );
    await assert.rejects(resolveModules(root, ['a']), /cycle: a -> b -> a/);
    await fsp.rm(root, { recursive: true });
  });
});

describe('initramfs cpio', () => {
  it("is byte-for-byte the same for the same tree, whatever the files' mtimes", async () => {
    const mk = async (mtime: Date) => {
      const d = mkdtempSync(path.join(os.tmpdir(), 'berth-cpio-'));
      await fsp.mkdir(path.join(d, 'bin'));
      await fsp.writeFile(path.join(d, 'bin/busybox'), 'BB', { mode: 0o755 });
      await fsp.symlink('busybox', path.join(d, 'bin/sh'));
      await fsp.writeFile(path.join(d, 'init'), '#!/bin/sh\n', { mode: 0o755 });
      await fsp.utimes(path.join(d, 'init'), mtime, mtime);
      return d;
    };
    const a = await mk(new Date(2020, 1, 1));
    const b = await mk(new Date(2024, 5, 5));
    const ca = await cpioOf(a, 1764547200);
    assert.deepEqual(ca, await cpioOf(b, 1764547200));
    // newc: magic, then entries in sorted order, a symlink stored as its target, the trailer last.
    const text = ca.toString('latin1');
    assert.ok(text.startsWith('070701'));
    assert.ok(
      text.indexOf('bin/busybox') < text.indexOf('bin/sh') && text.indexOf('bin/sh') < text.indexOf('init'),
    );
    assert.ok(text.includes('TRAILER!!!'));
    assert.equal(ca.length % 512, 0);
    // The mtime field of the first header is the fixed epoch.
    assert.equal(parseInt(text.slice(6 + 8 * 5, 6 + 8 * 6), 16), 1764547200);
    for (const d of [a, b]) await fsp.rm(d, { recursive: true });
  });
});

describe('shared library check', () => {
  it('parses readelf -d output per file', () => {
    const out = `\nFile: bin/ip\n\nDynamic section at offset 0x1 contains 2 entries:\n 0x0000000000000001 (NEEDED)             Shared library: [libbpf.so.1]\n 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n\nFile: sbin/x\n 0x0000000000000001 (NEEDED)             Shared library: [libz.so.1]\n`;
    assert.deepEqual(
      [...parseNeeded(out)],
      [
        ['bin/ip', ['libbpf.so.1', 'libc.so.6']],
        ['sbin/x', ['libz.so.1']],
      ],
    );
  });
});

describe('berthd staged for a guest', () => {
  it('is one runnable file with the native helper beside it, and the same sources stage to the same bytes', async () => {
    // electron/dist/test/ → the repository root
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    const a = mkdtempSync(path.join(os.tmpdir(), 'berth-stage-'));
    const b = mkdtempSync(path.join(os.tmpdir(), 'berth-stage-'));
    try {
      const ha = await stageAgent(repo, a);
      assert.deepEqual((await fsp.readdir(a)).sort(), ['berth-shim', AGENT_ENTRY].sort());
      assert.ok(((await fsp.stat(path.join(a, 'berth-shim'))).mode & 0o111) !== 0);
      // Parses the whole bundle, evaluates what main imports statically and runs its flag parsing.
      const out = execFileSync(process.execPath, [path.join(a, AGENT_ENTRY), '--version'], {
        encoding: 'utf8',
      });
      assert.match(out, /^Berth engine version \S+/);
      assert.equal(await stageAgent(repo, b), ha);
    } finally {
      await fsp.rm(a, { recursive: true, force: true });
      await fsp.rm(b, { recursive: true, force: true });
    }
  });
});

describe('stripSignature', () => {
  it('drops an appended module signature and leaves unsigned modules alone', () => {
    const code = Buffer.from('\x7fELF module code');
    const sig = Buffer.from('PKCS7-signature-bytes');
    const info = Buffer.alloc(12);
    info.writeUInt32BE(sig.length, 8);
    const signed = Buffer.concat([code, sig, info, Buffer.from('~Module signature appended~\n')]);
    assert.deepEqual(stripSignature(signed), code);
    assert.deepEqual(stripSignature(code), code);
  });
});

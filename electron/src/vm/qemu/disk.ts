/**
 * The persistent data disk: qcow2 (grows on demand, gives freed space back with discard). No lazy
 * refcounts: after a hard kill the image opens clean instead of needing a refcount rebuild.
 */
import { promises as fsp } from 'node:fs';
import { runCommand } from '@berth/vm-image/exec';

export function createDiskCommand(file: string, sizeGiB: number, qemuImg = 'qemu-img') {
  return { cmd: qemuImg, args: ['create', '-q', '-f', 'qcow2', file, `${sizeGiB}G`] };
}

/** Offline compaction: copy only allocated, non-zero clusters into a new file, then swap it in atomically. */
export function compactDiskCommand(file: string, tmp: string, qemuImg = 'qemu-img') {
  return { cmd: qemuImg, args: ['convert', '-q', '-O', 'qcow2', file, tmp] };
}

export async function createDisk(file: string, sizeGiB: number, qemuImg?: string): Promise<void> {
  const tmp = `${file}.creating`;
  await runCommand(createDiskCommand(tmp, sizeGiB, qemuImg));
  await fsp.rename(tmp, file);
}

export async function compactDisk(file: string, qemuImg?: string): Promise<void> {
  const tmp = `${file}.compacting`;
  try {
    await runCommand(compactDiskCommand(file, tmp, qemuImg));
    await fsp.rename(tmp, file);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** Bytes the disk file really occupies on the host (allocated blocks, not its apparent size). */
export async function diskUsage(file: string): Promise<number> {
  const st = await fsp.stat(file);
  return st.blocks * 512;
}

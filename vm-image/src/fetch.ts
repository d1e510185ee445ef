/** Downloads pinned inputs into the cache, verifies each sha256, and moves it into place atomically. */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { runCommand } from './exec.js';
import type { GuestArch, Pin } from './manifest.js';
import { aptDownload, debFile, nodeTarball, npmPack } from './plan.js';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

/** Ensures `target` holds the pinned bytes: reuse a verified cached copy, else download into a temp dir. */
async function ensurePinned(target: string, p: Pin, download: (dir: string) => Promise<void>): Promise<void> {
  if ((await exists(target)) && (await sha256File(target)) === p.sha256) return;
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(path.dirname(target), '.dl-'));
  try {
    // apt runs its download as _apt; a world-writable temp dir avoids its "unsandboxed" fallback warning.
    await fsp.chmod(tmp, 0o777);
    await download(tmp);
    const [got] = await fsp.readdir(tmp);
    if (!got) throw new Error(`download of ${p.name} ${p.version} produced no file`);
    const sum = await sha256File(path.join(tmp, got));
    if (sum !== p.sha256)
      throw new Error(`${p.name} ${p.version}: sha256 ${sum} does not match the manifest's ${p.sha256}`);
    await fsp.rename(path.join(tmp, got), target);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export async function fetchDeb(cacheDir: string, arch: GuestArch, p: Pin): Promise<string> {
  const target = debFile(cacheDir, arch, p);
  await ensurePinned(target, p, async (dir) => {
    try {
      await runCommand(aptDownload(dir, arch, p));
    } catch {
      // A machine whose package lists are stale (or empty) learns the pinned version after one update.
      await runCommand({ cmd: 'apt-get', args: ['update', '-qq'] }).catch(() => undefined);
      await runCommand(aptDownload(dir, arch, p)).catch((err: Error) => {
        throw new Error(
          `cannot download ${p.name}:${arch}=${p.version} (re-pin with node vm-image/pin.mjs --write): ${err.message}`,
        );
      });
    }
  });
  return target;
}

export async function fetchNode(cacheDir: string, arch: GuestArch, p: Pin): Promise<string> {
  const target = nodeTarball(cacheDir, arch, p);
  await ensurePinned(target, p, async (dir) => {
    await runCommand(npmPack(dir, p));
  });
  return target;
}

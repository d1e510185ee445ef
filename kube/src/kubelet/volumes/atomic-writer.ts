/**
 * The kubelet's AtomicWriter: a volume directory whose visible entries are symlinks through `..data`, itself a
 * symlink to a timestamped directory. An update writes a new timestamped directory and renames a fresh `..data`
 * over the old one, so a container reading the (bind-mounted) directory sees the old set or the new set of files,
 * never a mix, and ConfigMap/Secret updates show up in running containers.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface Payload {
  /** Relative path inside the volume → content and mode. */
  [relPath: string]: { data: Buffer; mode: number };
}

const DATA = '..data';

/** Relative, no `..` element, not starting with `..` (those names are the writer's own). */
export function checkPayloadPath(p: string): void {
  if (!p || path.isAbsolute(p)) throw new Error(`invalid path: must be relative path: ${p}`);
  if (p.split('/').includes('..')) throw new Error(`invalid path: must not contain '..': ${p}`);
  if (p.startsWith('..')) throw new Error(`invalid path: must not start with '..': ${p}`);
  if (Buffer.byteLength(p) > 4096)
    throw new Error(`invalid path: must be less than or equal to 4096 characters`);
}

async function same(dir: string, payload: Payload): Promise<boolean> {
  const cur = path.join(dir, DATA);
  let listed: string[];
  try {
    listed = await listFiles(cur);
  } catch {
    return false;
  }
  const want = Object.keys(payload).sort();
  if (listed.sort().join('\0') !== want.join('\0')) return false;
  for (const p of want) {
    const st = await fsp.stat(path.join(cur, p));
    if ((st.mode & 0o7777) !== payload[p].mode) return false;
    if (!(await fsp.readFile(path.join(cur, p))).equals(payload[p].data)) return false;
  }
  return true;
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, r)));
    else out.push(r);
  }
  return out;
}

/**
 * Writes `payload` into `dir` atomically; returns false when nothing changed. `gid` (fsGroup) owns the files.
 */
export async function writeAtomic(dir: string, payload: Payload, gid?: number): Promise<boolean> {
  for (const p of Object.keys(payload)) checkPayloadPath(p);
  await fsp.mkdir(dir, { recursive: true });
  if (await same(dir, payload)) return false;
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const ts = path.join(dir, stamp);
  await fsp.mkdir(ts, { mode: 0o755 });
  for (const [p, f] of Object.entries(payload)) {
    const file = path.join(ts, p);
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await fsp.writeFile(file, f.data, { mode: f.mode });
    await fsp.chmod(file, f.mode);
    if (gid !== undefined) await fsp.chown(file, 0, gid);
  }
  let old: string | undefined;
  try {
    old = await fsp.readlink(path.join(dir, DATA));
  } catch {
    /* first write */
  }
  const tmp = path.join(dir, `${DATA}_tmp`);
  await fsp.rm(tmp, { force: true });
  await fsp.symlink(stamp, tmp);
  await fsp.rename(tmp, path.join(dir, DATA));
  // Top-level names point through ..data; those no longer in the payload go.
  const top = new Set(Object.keys(payload).map((p) => p.split('/')[0]));
  for (const name of top) {
    const link = path.join(dir, name);
    const target = path.join(DATA, name);
    const cur = await fsp.readlink(link).catch(() => undefined);
    if (cur === target) continue;
    await fsp.rm(link, { force: true, recursive: true });
    await fsp.symlink(target, link);
  }
  for (const e of await fsp.readdir(dir)) {
    if (e.startsWith('..') || top.has(e)) continue;
    await fsp.rm(path.join(dir, e), { force: true, recursive: true });
  }
  if (old && old !== stamp) await fsp.rm(path.join(dir, old), { recursive: true, force: true });
  return true;
}

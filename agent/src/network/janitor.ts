/**
 * Orphans of dead daemons. Every daemon records its name prefix and data root under /run/berth/net (tmpfs, so
 * a reboot forgets it along with the kernel objects). A daemon reconciles its own objects at start; but when
 * a daemon died and its data root was deleted (test daemons killed with -9, then cleaned up), nobody ever will:
 * at start each daemon removes the bridges, veths, netns and nft table of prefixes whose data root is gone.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { NetKernel } from '../sys/net.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import { NetNames } from './names.js';
import { renderDeleteTable } from './nft-rules.js';
import { tolerateMissing } from './steps.js';

export const REGISTRY_DIR = '/run/berth/net';

export async function registerDaemon(prefix: string, dataRoot: string, dir = REGISTRY_DIR): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeJsonAtomic(path.join(dir, `${prefix}.json`), { prefix, dataRoot, pid: process.pid });
}

export async function unregisterDaemon(prefix: string, dir = REGISTRY_DIR): Promise<void> {
  await fsp.rm(path.join(dir, `${prefix}.json`), { force: true });
}

/** Removes kernel objects of registered prefixes whose data root no longer exists. Returns the prefixes swept. */
export async function sweepOrphans(
  k: NetKernel,
  ownPrefix: string,
  log: Logger,
  dir = REGISTRY_DIR,
): Promise<string[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const file of names) {
    let entry: { prefix?: string; dataRoot?: string };
    try {
      entry = JSON.parse(await fsp.readFile(path.join(dir, file), 'utf8')) as typeof entry;
    } catch {
      continue;
    }
    if (!entry.prefix || !entry.dataRoot || entry.prefix === ownPrefix) continue;
    if (
      await fsp.stat(entry.dataRoot).then(
        () => true,
        () => false,
      )
    )
      continue;
    let names2: NetNames;
    try {
      names2 = new NetNames(entry.prefix);
    } catch {
      continue;
    }
    log.info('removing network objects of a daemon whose data root is gone', {
      prefix: entry.prefix,
      dataRoot: entry.dataRoot,
    });
    for (const ns of await k.netnsList())
      if (names2.ownsNetns(ns)) await tolerateMissing(() => k.netnsDelete(ns));
    for (const l of await k.links())
      if (names2.ownsLink(l.name)) await tolerateMissing(() => k.ip([`link del ${l.name}`]));
    await k.nft(renderDeleteTable(names2.table)).catch(() => undefined);
    await fsp.rm(path.join(dir, file), { force: true });
    swept.push(entry.prefix);
  }
  return swept;
}

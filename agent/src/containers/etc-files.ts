/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, kept under containers/<id>/ and
 * bind-mounted by the runtime. hosts and resolv.conf contents come from the network domain.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { EtcFiles } from '../network/types.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

export interface EtcPaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function etcPaths(dir: string): EtcPaths {
  return {
    hostname: path.join(dir, 'hostname'),
    hosts: path.join(dir, 'hosts'),
    resolvConf: path.join(dir, 'resolv.conf'),
  };
}

/** Before start: atomic writes (nothing has the files mounted yet). */
export async function writeEtcFiles(dir: string, hostname: string, files: EtcFiles): Promise<EtcPaths> {
  const p = etcPaths(dir);
  await writeFileAtomic(p.hostname, `${hostname}\n`);
  await writeFileAtomic(p.hosts, files.hosts);
  await writeFileAtomic(p.resolvConf, files.resolvConf);
  return p;
}

/** While running: rewrite in place, since a rename would leave the container's bind mount on the old inode. */
export async function rewriteEtcFiles(dir: string, files: EtcFiles): Promise<void> {
  const p = etcPaths(dir);
  await fsp.writeFile(p.hosts, files.hosts);
  await fsp.writeFile(p.resolvConf, files.resolvConf);
}

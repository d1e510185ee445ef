/**
 * `-u` resolution against the image's /etc/passwd and /etc/group (read from the container's layers, top-most
 * first, honouring overlay whiteouts), as runc's user lookup: names or numbers, supplementary groups,
 * --group-add, and HOME.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { badParameter, type EngineError } from '../errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** Reads a file as the merged rootfs would show it, without mounting: first layer that has it wins. */
export async function readFromLayers(layers: string[], file: string): Promise<string | undefined> {
  const rel = file.replace(/^\/+/, '');
  for (const l of layers) {
    const p = path.join(l, rel);
    try {
      const st = await fsp.lstat(p);
      // A 0/0 character device is an overlay whiteout: the file was deleted in this layer.
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      if (!st.isFile()) return undefined;
      return await fsp.readFile(p, 'utf8');
    } catch {
      continue;
    }
  }
  return undefined;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) }));
}

const MAX_ID = 2 ** 31 - 1;

function userError(msg: string): EngineError {
  return badParameter(msg);
}

export async function resolveUser(
  layers: string[],
  spec: string,
  groupAdd: readonly string[] = [],
): Promise<ResolvedUser> {
  const passwd = parsePasswd(await readFromLayers(layers, '/etc/passwd'));
  const groups = parseGroup(await readFromLayers(layers, '/etc/group'));
  const [userPart = '', groupPart] = (spec || '0').split(':', 2);
  let uid: number;
  let gid = 0;
  let home = '/';
  let entry: PasswdEntry | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    if (uid > MAX_ID) throw userError(`uids and gids must be in range 0-${MAX_ID}`);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw userError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
  }
  if (entry) {
    gid = entry.gid;
    home = entry.home || '/';
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw userError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const extra = new Set<number>();
  // Supplementary groups from /etc/group apply only when the group was not given explicitly (as runc).
  if (entry && groupPart === undefined)
    for (const g of groups) if (g.members.includes(entry.name)) extra.add(g.gid);
  for (const ga of groupAdd) {
    if (/^\d+$/.test(ga)) extra.add(Number(ga));
    else {
      const g = groups.find((x) => x.name === ga);
      if (!g) throw userError(`Unable to find group ${ga}: no matching entries in group file`);
      extra.add(g.gid);
    }
  }
  extra.delete(gid);
  return { uid, gid, additionalGids: [...extra], home };
}

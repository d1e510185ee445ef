/**
 * Path resolution inside a container's root as a chroot would do it: `..` stops at the root and every symlink
 * (absolute or relative) is resolved against the root, so a hostile link such as /x -> /../../etc can never
 * lead a `docker cp` outside the container. Synchronous on purpose: callers run it per tar entry.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { badParameter } from '../api/errors.js';

const MAX_LINKS = 40;

/** Resolves `p` (container path) inside `root`; returns the clean container path. `followLast` as stat vs lstat. */
export function resolveInRoot(root: string, p: string, followLast = true): string {
  let pending = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === '..') {
      done.pop();
      continue;
    }
    const candidate = [...done, comp];
    const isLast = pending.length === 0;
    let st;
    try {
      st = lstatSync(path.join(root, ...candidate));
    } catch {
      // A missing component: nothing to follow; the rest is taken literally (still without escaping).
      done.push(comp);
      continue;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++links > MAX_LINKS) throw badParameter(`too many levels of symbolic links: ${p}`);
      const target = readlinkSync(path.join(root, ...candidate));
      const parts = target.split('/').filter((c) => c !== '' && c !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...parts, ...pending];
      continue;
    }
    done.push(comp);
  }
  return '/' + done.join('/');
}

/** Host path for a container path already resolved by resolveInRoot. */
export function hostPath(root: string, resolved: string): string {
  return path.join(root, resolved);
}

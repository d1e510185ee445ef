/** Overlay opaque directories, read without getxattr (Node has none). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TarParser } from './tar-parse.js';

/**
 * The opaque directories (trusted.overlay.opaque=y) under an overlay dir (a layer, a container's upper dir),
 * as paths relative to it. The directories are listed here and GNU tar reads their xattrs in one pass
 * (headers only, no file data).
 */
export function readOpaqueDirs(layer: string): Set<string> {
  const dirs: string[] = [];
  const walk = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(layer, rel), { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      dirs.push(r);
      walk(r);
    }
  };
  walk('');
  return opaqueAmong(layer, dirs);
}

/**
 * Which of `dirs` (relative to `layer`) are opaque. For a container's live upper dir the caller lists the
 * directories itself without following links (containers/confined-root.ts); tar reads only those, never
 * recursing.
 */
export function opaqueAmong(layer: string, dirs: readonly string[]): Set<string> {
  const out = new Set<string>();
  if (dirs.length === 0) return out;
  const r = spawnSync(
    'tar',
    [
      '--xattrs',
      '--xattrs-include=trusted.overlay.opaque',
      '--no-recursion',
      '--null',
      '-C',
      layer,
      '-T',
      '-',
      '-cf',
      '-',
    ],
    {
      input: dirs.join('\0') + '\0',
      maxBuffer: 256 << 20,
    },
  );
  if (r.status !== 0 || !r.stdout) return out;
  const parser = new TarParser({
    entry: (e) => {
      if (e.xattrs['trusted.overlay.opaque'] === 'y') out.add(e.name.replace(/\/$/, ''));
    },
    data: () => {},
    entryEnd: () => {},
  });
  try {
    parser.write(r.stdout);
  } catch {
    /* a partial answer still marks what it found */
  }
  return out;
}

/**
 * Mount planning: -v/Binds, --mount/Mounts, --tmpfs and image VOLUMEs become one ordered list of mount
 * records. Pure apart from stat'ing bind sources; volumes are created later by the service.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HostConfig, MountSpec } from '@berth/common';
import { badParameter } from '../errors.js';
import type { MountRecord } from './record.js';
import { parseBytes } from './units.js';

const PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];
const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface PlannedMount extends MountRecord {
  /** Bind (-v) source that must be created on the host when missing, as dockerd does for Binds. */
  createSource?: boolean;
}

function mountErr(type: string, detail: string): Error {
  return badParameter(`invalid mount config for type "${type}": ${detail}`);
}

function checkTarget(type: string, target: string | undefined, spec?: string): string {
  if (!target) throw mountErr(type, 'field Target must not be empty');
  if (!path.posix.isAbsolute(target)) {
    const inner = `invalid mount config for type "${type}": invalid mount path: '${target}' mount path must be absolute`;
    throw badParameter(spec ? `invalid volume specification: '${spec}': ${inner}` : inner);
  }
  if (path.posix.normalize(target) === '/')
    throw badParameter(`invalid specification: destination can't be '/'`);
  return path.posix.normalize(target);
}

/** `-v src:dst[:opts]`, `-v name:dst`, `-v dst`. */
export function parseBind(spec: string): PlannedMount {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === ''))
    throw badParameter(`invalid volume specification: '${spec}'`);
  let src = '';
  let dst: string;
  let modeStr = '';
  if (parts.length === 1) dst = parts[0]!;
  else if (parts.length === 2) {
    // `dst:ro` vs `src:dst`: a second part that is an option list means no source.
    if (!parts[1].startsWith('/') && parts[0].startsWith('/') && /^[a-zA-Z,]+$/.test(parts[1])) {
      dst = parts[0]!;
      modeStr = parts[1]!;
    } else {
      src = parts[0]!;
      dst = parts[1]!;
    }
  } else {
    src = parts[0]!;
    dst = parts[1]!;
    modeStr = parts[2]!;
  }
  const isBind = src.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  const destination = checkTarget(type, dst, spec);
  let rw = true;
  let propagation = isBind ? 'rprivate' : '';
  let noCopy = false;
  for (const o of modeStr ? modeStr.split(',') : []) {
    if (o === 'ro') rw = false;
    else if (o === 'rw') rw = true;
    else if (o === 'nocopy' && !isBind) noCopy = true;
    else if (PROPAGATIONS.includes(o) && isBind) propagation = o;
    else if (o === 'z' || o === 'Z' || o === 'consistent' || o === 'cached' || o === 'delegated') continue;
    else throw badParameter(`invalid mode: ${modeStr}`);
  }
  if (isBind)
    return {
      type: 'bind',
      source: path.posix.normalize(src),
      destination,
      rw,
      mode: modeStr,
      propagation,
      createSource: true,
    };
  if (src && !VOLUME_NAME_RE.test(src))
    throw badParameter(
      `create ${src}: "${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  return {
    type: 'volume',
    ...(src ? { name: src } : { anonymous: true }),
    source: '',
    destination,
    rw,
    mode: modeStr || (src ? 'z' : ''),
    propagation: '',
    ...(noCopy ? { noCopy } : {}),
  };
}

/** `--mount type=...`. */
export function parseMountSpec(m: MountSpec): PlannedMount {
  const type = m.Type;
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs')
    throw badParameter(`invalid mount config: mount type unknown: "${String(type)}"`);
  const destination = checkTarget(type, m.Target);
  const rw = !m.ReadOnly;
  if (type === 'bind') {
    if (!m.Source) throw mountErr('bind', 'field Source must not be empty');
    if (!path.posix.isAbsolute(m.Source))
      throw mountErr('bind', `invalid mount path: '${m.Source}' mount path must be absolute`);
    if (m.VolumeOptions) throw mountErr('bind', 'field VolumeOptions must not be specified');
    if (m.TmpfsOptions) throw mountErr('bind', 'field TmpfsOptions must not be specified');
    const create = m.BindOptions?.CreateMountpoint === true;
    if (!create && !existsSync(m.Source))
      throw mountErr('bind', `bind source path does not exist: ${m.Source}`);
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATIONS.includes(propagation))
      throw mountErr('bind', `invalid propagation mode: ${propagation}`);
    return {
      type,
      source: path.posix.normalize(m.Source),
      destination,
      rw,
      mode: '',
      propagation,
      ...(create ? { createSource: true } : {}),
    };
  }
  if (type === 'volume') {
    if (m.BindOptions) throw mountErr('volume', 'field BindOptions must not be specified');
    if (m.TmpfsOptions) throw mountErr('volume', 'field TmpfsOptions must not be specified');
    if (m.Source && !VOLUME_NAME_RE.test(m.Source))
      throw mountErr('volume', `invalid volume name: "${m.Source}"`);
    const driver = m.VolumeOptions?.DriverConfig?.Name;
    if (driver && driver !== 'local') throw mountErr('volume', `volume driver "${driver}" not found`);
    return {
      type,
      ...(m.Source ? { name: m.Source } : { anonymous: true }),
      source: '',
      destination,
      rw,
      mode: 'z',
      propagation: '',
      ...(m.VolumeOptions?.NoCopy ? { noCopy: true } : {}),
    };
  }
  if (m.Source) throw mountErr('tmpfs', 'field Source must not be specified');
  if (m.BindOptions) throw mountErr('tmpfs', 'field BindOptions must not be specified');
  if (m.VolumeOptions) throw mountErr('tmpfs', 'field VolumeOptions must not be specified');
  const size = m.TmpfsOptions?.SizeBytes;
  if (size !== undefined && size < 0) throw mountErr('tmpfs', 'invalid tmpfs size');
  return {
    type,
    source: '',
    destination,
    rw,
    mode: '',
    propagation: '',
    tmpfs: {
      ...(size ? { size } : {}),
      ...(m.TmpfsOptions?.Mode ? { mode: m.TmpfsOptions.Mode } : {}),
      options: ['nosuid', 'nodev', 'noexec'],
    },
  };
}

/** `--tmpfs /run:rw,size=64m,mode=1770,exec`. */
export function parseTmpfs(dst: string, opts: string): PlannedMount {
  const destination = checkTarget('tmpfs', dst);
  const flags = new Map<string, boolean>([
    ['nosuid', true],
    ['nodev', true],
    ['noexec', true],
  ]);
  let rw = true;
  let size: number | undefined;
  let mode: number | undefined;
  for (const o of opts ? opts.split(',') : []) {
    const [k, v] = o.split('=', 2) as [string, string | undefined];
    if (k === 'ro') rw = false;
    else if (k === 'rw') rw = true;
    else if (k === 'size' && v !== undefined) size = parseBytes(v, `tmpfs size for ${dst}`);
    else if (k === 'mode' && v !== undefined) {
      if (!/^[0-7]{1,4}$/.test(v)) throw badParameter(`invalid tmpfs mode for ${dst}: ${v}`);
      mode = parseInt(v, 8);
    } else if (['nosuid', 'nodev', 'noexec'].includes(k)) flags.set(k, true);
    else if (['suid', 'dev', 'exec'].includes(k)) flags.set(`no${k}`, false);
    else if (
      [
        'uid',
        'gid',
        'nr_inodes',
        'nr_blocks',
        'noatime',
        'atime',
        'relatime',
        'strictatime',
        'nodiratime',
        'diratime',
      ].includes(k)
    )
      continue;
    else throw badParameter(`invalid tmpfs option for ${dst}: ${o}`);
  }
  const options = [...flags].filter(([, on]) => on).map(([k]) => k);
  return {
    type: 'tmpfs',
    source: '',
    destination,
    rw,
    mode: opts,
    propagation: '',
    tmpfs: { ...(size ? { size } : {}), ...(mode !== undefined ? { mode } : {}), options },
  };
}

/** All mounts of a container, with image VOLUMEs not covered by an explicit mount as anonymous volumes. */
export function planMounts(
  hc: HostConfig,
  containerVolumes: Record<string, object> | null | undefined,
  imageVolumes: Record<string, object> | null | undefined,
): PlannedMount[] {
  const out: PlannedMount[] = [];
  const seen = new Set<string>();
  const add = (m: PlannedMount) => {
    if (seen.has(m.destination)) throw badParameter(`Duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
    out.push(m);
  };
  for (const b of hc.Binds ?? []) add(parseBind(b));
  for (const m of hc.Mounts ?? []) add(parseMountSpec(m));
  for (const [dst, opts] of Object.entries(hc.Tmpfs ?? {})) add(parseTmpfs(dst, opts));
  for (const dst of [...Object.keys(containerVolumes ?? {}), ...Object.keys(imageVolumes ?? {})]) {
    const d = path.posix.normalize(dst);
    if (seen.has(d) || !path.posix.isAbsolute(d)) continue;
    seen.add(d);
    out.push({
      type: 'volume',
      anonymous: true,
      source: '',
      destination: d,
      rw: true,
      mode: '',
      propagation: '',
    });
  }
  return out;
}

/** `docker commit`: config merge, `--change` Dockerfile instructions, and the layer from the upper dir. */
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { ContainerConfig } from '@berth/common';
import { badParameter } from '../errors.js';
import { opaqueAmong } from '../storage/opaque.js';
import { ConfinedRoot } from './confined-root.js';
import { writeTree } from './archive.js';
import { mountpointFilter } from './changes.js';
import type { ContainerDeps } from './deps.js';
import type { ContainerRecord } from './record.js';
import { mergeEnv } from './create-config.js';

function words(s: string): string[] {
  return s.trim().split(/\s+/).filter(Boolean);
}

/** KEY=value pairs (values may be "quoted"), or the legacy `KEY value` form. */
function pairs(s: string): [string, string][] {
  const t = s.trim();
  if (!/^[^\s=]+=/.test(t)) {
    const i = t.search(/\s/);
    if (i < 0) throw badParameter(`missing value in "${t}"`);
    return [[t.slice(0, i), t.slice(i).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  for (const m of t.matchAll(re))
    out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? m[5] ?? '')]);
  return out;
}

function argv(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* not JSON: shell form, as the Dockerfile parser falls back */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** Applies `--change` instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD). */
export function applyChanges(cfg: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = { ...cfg };
  for (const raw of changes
    .flatMap((x) => x.split('\n'))
    .map((x) => x.trim())
    .filter(Boolean)) {
    const sp = raw.search(/\s/);
    const instr = (sp < 0 ? raw : raw.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : raw.slice(sp + 1);
    switch (instr) {
      case 'CMD':
        c.Cmd = argv(rest);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = argv(rest);
        break;
      case 'ENV':
        c.Env = mergeEnv(
          c.Env ?? [],
          pairs(rest).map(([k, v]) => `${k}=${v}`),
        );
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(rest)) };
        break;
      case 'EXPOSE':
        c.ExposedPorts = {
          ...(c.ExposedPorts ?? {}),
          ...Object.fromEntries(words(rest).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])),
        };
        break;
      case 'USER':
        c.User = rest.trim();
        break;
      case 'WORKDIR':
        c.WorkingDir = path.posix.resolve(c.WorkingDir || '/', rest.trim());
        break;
      case 'STOPSIGNAL':
        c.StopSignal = rest.trim();
        break;
      case 'VOLUME': {
        const vols = rest.trim().startsWith('[') ? argv(rest) : words(rest);
        c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(vols.map((v) => [v, {}])) };
        break;
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), rest.trim()];
        break;
      default:
        throw badParameter(`${instr.toLowerCase()} is not a valid change command`);
    }
  }
  return c;
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment: string;
  author: string;
  pause: boolean;
  changes: string[];
  config: ContainerConfig;
}

export async function commitContainer(
  d: ContainerDeps,
  rec: ContainerRecord,
  o: CommitOptions,
): Promise<string> {
  const base: ContainerConfig = {
    ...rec.config,
    Cmd: rec.config.Cmd ?? null,
    Entrypoint: rec.config.Entrypoint ?? null,
  };
  const user = Object.fromEntries(
    Object.entries(o.config).filter(
      ([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0),
    ),
  );
  const config = applyChanges({ ...base, ...user, Image: rec.image }, o.changes);
  delete config.Hostname;
  delete config.Domainname;
  const tags = o.repo ? [`${o.repo}:${o.tag || 'latest'}`] : [];
  const pause = o.pause && rec.state.status === 'running';
  if (pause) await d.runtime.pause(rec.id);
  try {
    const layerTar = new PassThrough();
    const upper = d.store.files(rec.id).upper;
    // Opaque directories (removed and made again) hide the image's content below them, as in build's RUN
    // layers; listed through fds since the container may still run (commit --pause=false).
    const root = ConfinedRoot.open(upper);
    let opaqueDirs: Set<string>;
    try {
      opaqueDirs = opaqueAmong(upper, root.listDirs());
    } finally {
      root.close();
    }
    const writing = writeTree(layerTar, upper, '', {
      skip: mountpointFilter(rec),
      whiteouts: true,
      opaqueDirs,
    }).catch((err: Error) => {
      layerTar.destroy(err);
    });
    const id = await d.images.commit({
      parentId: rec.image,
      layerTar,
      config,
      containerId: rec.id,
      comment: o.comment,
      author: o.author,
      createdBy: [rec.path, ...rec.args].join(' '),
      tags,
    });
    await writing;
    d.events.publish('container', 'commit', rec.id, {
      comment: o.comment,
      imageID: id,
      imageRef: tags[0] ?? '',
      name: rec.name.slice(1),
    });
    return id;
  } finally {
    if (pause) await d.runtime.resume(rec.id).catch(() => undefined);
  }
}

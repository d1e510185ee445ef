/**
 * A container's volumeMounts as engine mounts: bind mounts of the prepared directories, named volumes for claims
 * and memory emptyDirs; subPath (and subPathExpr) resolved inside the volume without following a symlink out of
 * it, as the kubelet's subpath checks.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { MountSpec } from '@berth/common/api/containers';
import type { EngineClient } from '../engine/client.js';
import { expand } from '../env.js';
import { configError, StartError } from '../errors.js';
import type { Container } from '../types.js';
import type { VolumeSource } from './prepare.js';

/** `base/sub` with every existing component resolved, refused when it leaves `base`; missing dirs are created. */
export async function resolveSubPath(base: string, sub: string): Promise<string> {
  if (path.isAbsolute(sub)) throw new Error(`subPath ${sub} must be a relative path`);
  if (sub.split('/').includes('..')) throw new Error(`subPath ${sub} must not contain '..'`);
  const realBase = await fsp.realpath(base);
  const target = path.join(realBase, sub);
  let real: string;
  try {
    real = await fsp.realpath(target);
  } catch {
    await fsp.mkdir(target, { recursive: true, mode: 0o755 });
    real = await fsp.realpath(target);
  }
  if (real !== realBase && !real.startsWith(realBase + '/'))
    throw new Error(`subpath "${sub}" not within volume path "${base}"`);
  return real;
}

export async function containerMounts(
  engine: EngineClient,
  c: Container,
  volumes: Map<string, VolumeSource>,
  env: Array<[string, string]>,
): Promise<MountSpec[]> {
  const out: MountSpec[] = [];
  const envMap = new Map(env);
  for (const vm of c.volumeMounts ?? []) {
    const src = volumes.get(vm.name);
    if (!src) throw configError(`cannot find volume "${vm.name}" to mount into container "${c.name}"`);
    if (vm.subPath && vm.subPathExpr)
      throw configError(`subPath and subPathExpr are mutually exclusive for volume "${vm.name}"`);
    const sub = vm.subPathExpr ? expand(vm.subPathExpr, (n) => envMap.get(n)) : vm.subPath;
    const readOnly = vm.readOnly === true || src.readOnly === true;
    const propagation =
      vm.mountPropagation === 'Bidirectional'
        ? 'rshared'
        : vm.mountPropagation === 'HostToContainer'
          ? 'rslave'
          : undefined;
    try {
      if (src.kind === 'volume' && !sub) {
        out.push({ Type: 'volume', Source: src.name, Target: vm.mountPath, ReadOnly: readOnly });
        continue;
      }
      let base = src.kind === 'bind' ? src.path : '';
      if (src.kind === 'volume') {
        const v = await engine.volumeInspect(src.name);
        if (!v) throw new Error(`volume ${src.name} is gone`);
        base = v.Mountpoint;
      }
      const hostPath = sub ? await resolveSubPath(base, sub) : base;
      out.push({
        Type: 'bind',
        Source: hostPath,
        Target: vm.mountPath,
        ReadOnly: readOnly,
        ...(propagation ? { BindOptions: { Propagation: propagation } } : {}),
      });
    } catch (err) {
      if (err instanceof StartError) throw err;
      throw new StartError(
        'CreateContainerConfigError',
        `failed to prepare subPath for volumeMount "${vm.name}" of container "${c.name}": ${(err as Error).message}`,
      );
    }
  }
  return out;
}

/**
 * Pod volumes, prepared by the kubelet before its containers start, under <data>/pods/<uid>/volumes/<plugin>/<name>
 * as the kubelet lays them out; the engine only ever sees bind mounts and named volumes. emptyDir with
 * `medium: Memory` is a tmpfs engine volume (the local driver's type=tmpfs), shared by the pod's containers.
 */
import { constants, promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { EngineClient } from '../engine/client.js';
import type { PodFacts } from '../env.js';
import { MountError } from '../errors.js';
import type { PodInputs } from '../inputs.js';
import { parseQuantity } from '@berth/common/quantity';
import type { Pod, Volume } from '../types.js';
import { writeAtomic } from './atomic-writer.js';
import { volumePayload } from './payloads.js';

/** Where a volume's content is, for the engine. */
export type VolumeSource =
  { kind: 'bind'; path: string; readOnly?: boolean } | { kind: 'volume'; name: string; readOnly?: boolean };

export const POD_VOLUME_LABEL = 'io.berth.kube.pod-uid';

const PLUGIN: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

export const podDir = (root: string, uid: string): string => path.join(root, 'pods', uid);

/** The engine volume holding an emptyDir of `medium: Memory`. */
export const memoryVolumeName = (uid: string, vol: string): string => `k8s-emptydir-${uid}-${vol}`;

const failed = (vol: string, why: string): MountError =>
  new MountError(`MountVolume.SetUp failed for volume "${vol}" : ${why}`);

async function statType(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch {
    return undefined;
  }
}

/** hostPath with its `type` checked (and created for the *OrCreate types), as the kubelet's hostPath plugin. */
export async function checkHostPath(p: string, type: string | undefined): Promise<void> {
  const st = await statType(p);
  switch (type ?? '') {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) await fsp.mkdir(p, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) throw new Error(`hostPath type check failed: ${p} is not a directory`);
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw new Error(`hostPath type check failed: ${p} is not a directory`);
      return;
    case 'FileOrCreate':
      if (!st) {
        const h = await fsp.open(p, constants.O_CREAT | constants.O_WRONLY, 0o644);
        await h.close();
      } else if (!st.isFile()) throw new Error(`hostPath type check failed: ${p} is not a file`);
      return;
    case 'File':
      if (!st?.isFile()) throw new Error(`hostPath type check failed: ${p} is not a file`);
      return;
    case 'Socket':
      if (!st?.isSocket()) throw new Error(`hostPath type check failed: ${p} is not a socket file`);
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice())
        throw new Error(`hostPath type check failed: ${p} is not a character device`);
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new Error(`hostPath type check failed: ${p} is not a block device`);
      return;
    default:
      throw new Error(`hostPath type check failed: unsupported type "${type}" for ${p}`);
  }
}

export interface PrepareContext {
  root: string;
  engine: EngineClient;
  pod: Pod;
  inputs: PodInputs;
  facts: PodFacts;
}

/** Sets up one volume (idempotent: a second call refreshes configMap/secret content). */
export async function prepareVolume(ctx: PrepareContext, vol: Volume): Promise<VolumeSource> {
  const uid = ctx.pod.metadata!.uid!;
  const fsGroup = ctx.pod.spec?.securityContext?.fsGroup;
  const dirFor = (kind: keyof typeof PLUGIN) =>
    path.join(podDir(ctx.root, uid), 'volumes', PLUGIN[kind], vol.name);
  try {
    if (vol.emptyDir) {
      if (vol.emptyDir.medium === 'Memory') {
        const size = vol.emptyDir.sizeLimit ? parseQuantity(vol.emptyDir.sizeLimit) : undefined;
        const name = memoryVolumeName(uid, vol.name);
        await ctx.engine.volumeCreate({
          Name: name,
          Driver: 'local',
          DriverOpts: {
            type: 'tmpfs',
            device: 'tmpfs',
            o: `mode=1777${size ? `,size=${Math.floor(size)}` : ''}`,
          },
          Labels: { [POD_VOLUME_LABEL]: uid },
        });
        return { kind: 'volume', name };
      }
      if (vol.emptyDir.medium && vol.emptyDir.medium !== '')
        throw new Error(`unsupported emptyDir medium ${vol.emptyDir.medium}`);
      const d = dirFor('emptyDir');
      await fsp.mkdir(d, { recursive: true });
      await fsp.chmod(d, fsGroup !== undefined ? 0o2777 : 0o777);
      if (fsGroup !== undefined) await fsp.chown(d, 0, fsGroup);
      return { kind: 'bind', path: d };
    }
    if (vol.hostPath) {
      if (!path.isAbsolute(vol.hostPath.path))
        throw new Error(`hostPath ${vol.hostPath.path} must be absolute`);
      await checkHostPath(vol.hostPath.path, vol.hostPath.type);
      return { kind: 'bind', path: vol.hostPath.path };
    }
    const claimVolume =
      vol.persistentVolumeClaim ??
      (vol.ephemeral ? { claimName: `${ctx.pod.metadata?.name}-${vol.name}`, readOnly: false } : undefined);
    if (claimVolume) {
      const claim = claimVolume.claimName;
      const c = ctx.inputs.claims?.[claim] ?? { problem: 'PVC is not bound' };
      if ('problem' in c)
        throw new MountError(
          `Unable to attach or mount volumes: unmounted volumes=[${vol.name}], unattached volumes=[], failed to process volumes=[${vol.name}]: error processing PVC ${ctx.pod.metadata?.namespace}/${claim}: ${c.problem}`,
        );
      const readOnly = claimVolume.readOnly === true || c.readOnly === true;
      if ('path' in c) {
        await checkHostPath(c.path, c.pathType);
        return { kind: 'bind', path: c.path, readOnly };
      }
      // The provisioner made it; a `docker volume rm` behind the cluster's back gets an empty one again.
      if (!(await ctx.engine.volumeInspect(c.volume)))
        await ctx.engine.volumeCreate({ Name: c.volume, Labels: { 'io.berth.kube.claim-name': claim } });
      return { kind: 'volume', name: c.volume, readOnly };
    }
    const payload = await volumePayload(ctx.pod, vol, ctx.inputs, ctx.facts);
    if (payload) {
      const kind = vol.configMap
        ? 'configMap'
        : vol.secret
          ? 'secret'
          : vol.downwardAPI
            ? 'downwardAPI'
            : 'projected';
      const d = dirFor(kind);
      await writeAtomic(d, payload, fsGroup);
      // Kubernetes mounts these read-only whatever the volumeMount says.
      return { kind: 'bind', path: d, readOnly: true };
    }
  } catch (err) {
    if (err instanceof MountError) throw err;
    throw failed(vol.name, (err as Error).message);
  }
  throw failed(vol.name, 'this volume type is not supported by berth-kube');
}

export async function preparePodVolumes(ctx: PrepareContext): Promise<Map<string, VolumeSource>> {
  const out = new Map<string, VolumeSource>();
  for (const v of ctx.pod.spec?.volumes ?? []) out.set(v.name, await prepareVolume(ctx, v));
  return out;
}

/** Refreshes configMap/secret/downwardAPI/projected content of a running pod; returns the volumes that changed. */
export async function refreshPodVolumes(ctx: PrepareContext): Promise<string[]> {
  const changed: string[] = [];
  const uid = ctx.pod.metadata!.uid!;
  for (const v of ctx.pod.spec?.volumes ?? []) {
    const payload = await volumePayload(ctx.pod, v, ctx.inputs, ctx.facts).catch(() => undefined);
    if (!payload) continue;
    const kind = v.configMap
      ? 'configMap'
      : v.secret
        ? 'secret'
        : v.downwardAPI
          ? 'downwardAPI'
          : 'projected';
    const d = path.join(podDir(ctx.root, uid), 'volumes', PLUGIN[kind], v.name);
    if (await writeAtomic(d, payload, ctx.pod.spec?.securityContext?.fsGroup)) changed.push(v.name);
  }
  return changed;
}

/** Removes the pod's directory and its engine volumes (memory emptyDirs). */
export async function cleanupPodVolumes(
  root: string,
  engine: EngineClient,
  uid: string,
  volumes: string[],
): Promise<void> {
  for (const name of volumes) await engine.volumeRemove(name, true).catch(() => undefined);
  await fsp.rm(podDir(root, uid), { recursive: true, force: true });
}

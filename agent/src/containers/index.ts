/**
 * The containers domain, composed: store, service (create/rm/rename/update), lifecycle (start/stop/restart
 * policies/recovery), execs and healthchecks. daemon.ts builds it with createContainerDomain().
 *
 * Contract for other domains:
 * - `imageUsers(imageId)` → ids of containers using an image (images/ answers 409 on rmi).
 * - `systemProvider` → counts for /info and the Containers/Volumes parts of /system/df.
 */
import path from 'node:path';
import type { ContainerInspect, SystemInfo } from '@berth/common';
import type { SystemProviders } from '../engine.js';
import { dirSize } from '../volumes/du.js';
import type { ContainerApi } from './api-port.js';
import type { ContainerDeps } from './deps.js';
import { ExecStore } from './exec.js';
import { HealthMonitor } from './health.js';
import { RootfsViews } from './rootfs-view.js';
import type { ContainerRecord } from './record.js';
import { Containers } from './service.js';
import { Status } from './state.js';
import { inspectView, summaryView } from './views.js';

export interface ContainerDomain extends ContainerApi {
  systemProvider: SystemProviders;
  /** Loads records and reconciles them with the runtime (call once at daemon start). */
  recover(): Promise<void>;
  /** Stops running containers (graceful daemon shutdown). */
  close(): Promise<void>;
}

export async function createContainerDomain(d: ContainerDeps): Promise<ContainerDomain> {
  await d.store.load();
  const health = new HealthMonitor(d);
  const execs = new ExecStore(d);
  const containers = new Containers(d, {
    healthStart: (rec) => health.start(rec),
    healthStop: (id) => {
      health.stop(id);
      execs.forgetContainer(id);
    },
  });
  const imageSizes = new Map<string, number>();
  const imageSize = async (rec: ContainerRecord): Promise<number> => {
    const known = imageSizes.get(rec.image);
    if (known !== undefined) return known;
    const img = await d.images.resolve(rec.image);
    let n = 0;
    for (const l of img?.layerDirs ?? []) n += await dirSize(l);
    imageSizes.set(rec.image, n);
    return n;
  };
  const sizes = async (rec: ContainerRecord) => {
    const rw = await dirSize(path.join(d.store.dir(rec.id), 'upper'));
    return { rw, rootfs: rw + (await imageSize(rec)) };
  };
  const summary = (rec: ContainerRecord, sz?: { rw: number; rootfs: number }) =>
    summaryView(
      rec,
      rec.health?.Status,
      d.network.settings(rec.id),
      d.network.ports(rec.id),
      d.network.networkMode(rec.id),
      sz,
    );
  const views = new RootfsViews(d, containers.lifecycle.lock);
  const api: ContainerDomain = {
    summary,
    views,
    containers,
    store: d.store,
    images: d.images,
    runtime: d.runtime,
    execs,
    sizes,
    async inspect(ref: string, size: boolean): Promise<ContainerInspect> {
      const rec = d.store.get(ref);
      const img = await d.images.resolve(rec.image);
      const view = inspectView(
        rec,
        d.store.dir(rec.id),
        d.store.logPath(rec.id),
        img?.layerDirs ?? [],
        execs.idsFor(rec.id),
        d.network.settings(rec.id),
        size ? await sizes(rec) : undefined,
      );
      view.HostConfig.NetworkMode = d.network.networkMode(rec.id);
      return view;
    },
    systemProvider: {
      async info(): Promise<Partial<SystemInfo>> {
        const all = d.store.all();
        const count = (...s: string[]) => all.filter((r) => s.includes(r.state.status)).length;
        const running = count(Status.Running, Status.Restarting);
        const paused = count(Status.Paused);
        return {
          Containers: all.length,
          ContainersRunning: running,
          ContainersPaused: paused,
          ContainersStopped: all.length - running - paused,
        };
      },
      async df(): Promise<Record<string, unknown>> {
        const cs = [];
        for (const rec of d.store.all()) cs.push(summary(rec, await sizes(rec)));
        const vols = [];
        for (const v of d.volumes.list())
          vols.push({
            ...v,
            UsageData: { Size: await d.volumes.size(v.Name), RefCount: d.volumes.usersOf(v.Name).length },
          });
        return { Containers: cs, Volumes: vols };
      },
    },
    async recover() {
      const left = await views.cleanup();
      if (left.length) d.log.warn('unmounted leftover container views', { mounts: left });
      await containers.lifecycle.recover();
    },
    async close() {
      for (const r of d.store.all()) health.stop(r.id);
      await containers.lifecycle.shutdown();
    },
  };
  return api;
}

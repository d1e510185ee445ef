/**
 * The containers domain, composed from its parts: records (store), configuration (service), the lifecycle and
 * its state machine, stdio (io), files, execs and healthchecks. services.ts builds it once with
 * createContainerDomain() from a loaded store; the API routes use its ports (api-port.ts).
 *
 * Contract for other domains:
 * - usage.ts gives images/, volumes/ and network/ their views of the records, at their construction.
 * - `systemProvider` → counts for /info and the Containers/Volumes parts of /system/df.
 * - The image builder (image-builder/container-adapter.ts) uses create, attachAndStart, nextExit and remove.
 */
import type { ContainerInspect, ContainerSummary, SystemInfo } from '@berth/common';
import type { SystemProviders } from '../engine.js';
import { badParameter } from '../errors.js';
import type { Filters } from '../util/filters.js';
import { dirSize } from '../volumes/du.js';
import type { ContainerOpsPort } from './api-port.js';
import type { ContainerDeps } from './deps.js';
import { ExecStore } from './exec.js';
import { ContainerFiles } from './files.js';
import { HealthMonitor } from './health.js';
import { ContainerIo } from './io.js';
import { Lifecycle, type StopOptions } from './lifecycle.js';
import { linksView, removeLink } from './links.js';
import { filterContainers } from './list.js';
import type { ContainerRecord } from './record.js';
import { recoverContainers } from './recovery.js';
import { RootfsViews } from './rootfs-view.js';
import { Containers } from './service.js';
import { Status } from './state.js';
import { inspectView, summaryView } from './views.js';

type Sizes = { rw: number; rootfs: number };

export class ContainerDomain implements ContainerOpsPort {
  readonly lifecycle: Lifecycle;
  readonly execs: ExecStore;
  readonly io: ContainerIo;
  readonly files: ContainerFiles;
  readonly systemProvider: SystemProviders;
  private readonly config: Containers;
  private readonly health: HealthMonitor;
  private readonly views: RootfsViews;
  private readonly imageSizes = new Map<string, number>();

  constructor(private readonly d: ContainerDeps) {
    this.health = new HealthMonitor(d);
    this.execs = new ExecStore(d);
    this.lifecycle = new Lifecycle(d, {
      started: (rec) => this.health.start(rec),
      ended: (id) => {
        this.health.stop(id);
        this.execs.forgetContainer(id);
      },
    });
    this.config = new Containers(d, this.lifecycle);
    this.views = new RootfsViews(d, this.lifecycle.lock);
    this.io = new ContainerIo(d, this.lifecycle);
    this.files = new ContainerFiles(d, this.views);
    this.systemProvider = { info: () => this.info(), df: () => this.df() };
  }

  /** The store (for the image builder, which exports a RUN container's upper dir). */
  get store(): ContainerDeps['store'] {
    return this.d.store;
  }

  private async imageSize(rec: ContainerRecord): Promise<number> {
    const known = this.imageSizes.get(rec.image);
    if (known !== undefined) return known;
    const img = await this.d.images.resolve(rec.image);
    let n = 0;
    for (const l of img?.layerDirs ?? []) n += await dirSize(l);
    this.imageSizes.set(rec.image, n);
    return n;
  }

  private async sizes(rec: ContainerRecord): Promise<Sizes> {
    const rw = await dirSize(this.d.store.files(rec.id).upper);
    return { rw, rootfs: rw + (await this.imageSize(rec)) };
  }

  private summary(rec: ContainerRecord, sz?: Sizes): ContainerSummary {
    const n = this.d.network;
    return summaryView(
      rec,
      rec.health?.Status,
      n.settings(rec.id),
      n.ports(rec.id),
      n.networkMode(rec.id),
      sz,
    );
  }

  create(body: unknown, name: string | null) {
    if (body === null) throw badParameter('config cannot be empty in order to create a container');
    return this.config.create(body, name);
  }

  async list(q: { filters: Filters; all: boolean; limit: number | undefined; size: boolean }) {
    const recs = await filterContainers(this.d.store.all(), q.filters, q.all, q.limit, {
      find: (ref) => this.d.store.find(ref),
      imageIdsFor: async (ref) => {
        const img = await this.d.images.resolve(ref);
        return img ? [img.id] : [];
      },
      health: (rec) => rec.health?.Status ?? 'none',
    });
    const out = [];
    for (const rec of recs) out.push(this.summary(rec, q.size ? await this.sizes(rec) : undefined));
    return out;
  }

  async inspect(ref: string, size: boolean): Promise<ContainerInspect> {
    const rec = this.d.store.get(ref);
    const img = await this.d.images.resolve(rec.image);
    const view = inspectView(
      rec,
      this.d.store.files(rec.id),
      img?.layerDirs ?? [],
      this.execs.idsFor(rec.id),
      this.d.network.settings(rec.id),
      size ? await this.sizes(rec) : undefined,
    );
    view.HostConfig.NetworkMode = this.d.network.networkMode(rec.id);
    view.HostConfig.Links = linksView(rec, this.d.store);
    return view;
  }

  start(ref: string, checkpoint: string | null = null) {
    if (checkpoint) throw badParameter('checkpoints are not supported');
    return this.lifecycle.start(ref);
  }
  stop(ref: string, opts: StopOptions) {
    return this.lifecycle.stop(ref, opts);
  }
  restart(ref: string, opts: StopOptions) {
    return this.lifecycle.restart(ref, opts);
  }
  kill(ref: string, signal: string | null = null) {
    return this.lifecycle.kill(ref, signal || 'SIGKILL');
  }
  pause(ref: string) {
    return this.lifecycle.pause(ref);
  }
  unpause(ref: string) {
    return this.lifecycle.unpause(ref);
  }
  async remove(ref: string, opts: { force: boolean; volumes: boolean; link?: boolean }) {
    if (opts.link) return this.removeLink(ref);
    await this.lifecycle.remove(ref, opts);
  }

  /** `docker rm --link parent/alias`: the parent forgets the link (it keeps running). */
  private async removeLink(ref: string): Promise<void> {
    const { parent, link } = removeLink(this.d.store, ref);
    await this.lifecycle.lock.run(parent.id, async () => {
      const links = (parent.hostConfig.Links ?? []).filter((l) => l !== link);
      parent.hostConfig = { ...parent.hostConfig, Links: links.length ? links : null };
      await this.d.store.save(parent);
      await this.d.network.setLinks(parent.id, links);
    });
  }
  rename(ref: string, name: string | null) {
    return this.config.rename(ref, name);
  }
  update(ref: string, body: unknown) {
    return this.config.update(ref, body);
  }
  wait(ref: string, condition: string | null, signal: AbortSignal) {
    return this.lifecycle.wait(ref, condition ?? '', signal);
  }
  prune(filters: Filters) {
    return this.config.prune(filters, async (rec) => (await this.sizes(rec)).rw);
  }

  private async info(): Promise<Partial<SystemInfo>> {
    const all = this.d.store.all();
    const count = (...s: string[]) => all.filter((r) => s.includes(r.state.status)).length;
    const running = count(Status.Running, Status.Restarting);
    const paused = count(Status.Paused);
    return {
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: all.length - running - paused,
    };
  }

  private async df(): Promise<Record<string, unknown>> {
    const cs = [];
    for (const rec of this.d.store.all()) cs.push(this.summary(rec, await this.sizes(rec)));
    const vols = [];
    for (const v of this.d.volumes.list())
      vols.push({
        ...v,
        UsageData: {
          Size: await this.d.volumes.size(v.Name),
          RefCount: this.d.volumes.usersOf(v.Name).length,
        },
      });
    return { Containers: cs, Volumes: vols };
  }

  /** Once at daemon start: unmounts views a crash left, then reconciles records with the runtime. */
  async recover(): Promise<void> {
    const left = await this.views.cleanup();
    if (left.length) this.d.log.warn('unmounted leftover container views', { mounts: left });
    await recoverContainers(this.d, this.lifecycle);
  }

  /** Stops running containers (graceful daemon shutdown). */
  async close(): Promise<void> {
    for (const r of this.d.store.all()) this.health.stop(r.id);
    await this.lifecycle.shutdown();
  }
}

/** Builds the domain on a loaded store and reconciles it with the runtime and the network. */
export async function createContainerDomain(d: ContainerDeps): Promise<ContainerDomain> {
  const domain = new ContainerDomain(d);
  await domain.recover();
  return domain;
}

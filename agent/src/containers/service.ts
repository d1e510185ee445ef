/** Container configuration: create, rename, update and prune (removal itself is the lifecycle's). */
import { promises as fsp } from 'node:fs';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerPruneResponse,
  EndpointSettings,
  HostConfig,
  Resources,
  RestartPolicy,
} from '@berth/common';
import { badParameter, notFound } from '../errors.js';
import {
  validateCreateBody,
  mergeWithImage,
  validateResources,
  validateRestartPolicy,
  validateSysctls,
} from './create-config.js';
import { checkFilters, matchLabels, type Filters } from '../util/filters.js';
import type { ContainerDeps } from './deps.js';
import type { Lifecycle } from './lifecycle.js';
import { parseLink } from './links.js';
import { planMounts } from './mounts.js';
import type { ContainerRecord, MountRecord } from './record.js';
import { cgroupResources, capabilities, logLimits, securityOpts } from './spec.js';
import { initialState, isRunning } from './state.js';
import { validateName } from './store.js';

/** The CLI keys the endpoint of `--network default` as "default"; the network domain knows it as bridge. */
function normalizeEndpoints(
  eps: Record<string, EndpointSettings> | null | undefined,
): Record<string, EndpointSettings> {
  const out: Record<string, EndpointSettings> = {};
  for (const [k, v] of Object.entries(eps ?? {})) out[k === 'default' ? 'bridge' : k] = v ?? {};
  return out;
}

export class Containers {
  constructor(
    private readonly d: ContainerDeps,
    private readonly lifecycle: Lifecycle,
  ) {}

  /** Ids of containers created from `imageId` (images/ refuses to delete an image in use). */
  imageUsers(imageId: string): string[] {
    return this.d.store
      .all()
      .filter((r) => r.image === imageId)
      .map((r) => r.id);
  }

  async create(raw: unknown, nameParam: string | null): Promise<ContainerCreateResponse> {
    const req: ContainerCreateRequest = validateCreateBody(raw);
    const warnings: string[] = [];
    const hc: HostConfig = { ...(req.HostConfig ?? {}) };
    // dockerd stores the default network mode as bridge (inspect shows it so).
    if (!hc.NetworkMode || hc.NetworkMode === 'default') hc.NetworkMode = 'bridge';
    validateResources(hc, warnings);
    validateRestartPolicy(hc.RestartPolicy, hc.AutoRemove);
    validateSysctls(hc.Sysctls, hc.NetworkMode);
    capabilities(hc);
    securityOpts(hc);
    logLimits(hc);
    const logType = hc.LogConfig?.Type || 'json-file';
    if (logType !== 'json-file' && logType !== 'local' && logType !== 'none')
      throw badParameter(`logger: no log driver named '${logType}' is registered`);
    // `none` keeps no log at all (docker logs answers 501, as dockerd); `local` is kept as json-file.
    hc.LogConfig =
      logType === 'none'
        ? { Type: 'none', Config: {} }
        : { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} };
    hc.RestartPolicy = {
      Name: hc.RestartPolicy?.Name || 'no',
      MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
    };
    for (const u of hc.Ulimits ?? []) {
      if (typeof u?.Name !== 'string' || typeof u.Soft !== 'number' || typeof u.Hard !== 'number')
        throw badParameter('invalid ulimit: expected Name, Soft and Hard');
      if (u.Soft > u.Hard && u.Hard !== -1)
        throw badParameter(
          `ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`,
        );
    }

    // Legacy links on the default bridge name existing containers (dockerd's registerLinks).
    if (hc.NetworkMode === 'bridge')
      for (const l of hc.Links ?? []) {
        const { child } = parseLink(l);
        if (!this.d.store.find(child))
          throw badParameter(`could not get container for ${child}: No such container: ${child}`);
      }
    const name = nameParam ? validateName(nameParam) : this.d.store.generateName();
    const image = await this.d.images.resolve(req.Image!);
    if (!image) throw notFound(`No such image: ${req.Image}`);
    const id = this.d.store.newId();
    const merged = mergeWithImage(req, image.config, id);
    const planned = planMounts(hc, req.Volumes, image.config.Volumes);
    // Reserve the name before any await below so two creates cannot both take it.
    this.d.store.reserveName(name, id);
    const mounts: MountRecord[] = [];
    let registered = false;
    try {
      await this.d.network.register({
        id,
        name: name.slice(1),
        hostname: merged.config.Hostname ?? id.slice(0, 12),
        ...(merged.config.Domainname ? { domainname: merged.config.Domainname } : {}),
        networkMode: hc.NetworkMode,
        endpoints: normalizeEndpoints(req.NetworkingConfig?.EndpointsConfig),
        portBindings: hc.PortBindings ?? {},
        publishAllPorts: hc.PublishAllPorts === true,
        exposedPorts: Object.keys(merged.config.ExposedPorts ?? {}),
        links: hc.Links ?? [],
        dns: hc.Dns ?? [],
        dnsSearch: hc.DnsSearch ?? [],
        dnsOptions: hc.DnsOptions ?? [],
        extraHosts: hc.ExtraHosts ?? [],
        ...(req.MacAddress ? { macAddress: req.MacAddress } : {}),
      });
      registered = true;
      for (const p of planned) {
        const { createSource, ...m } = p;
        if (m.type === 'volume') {
          const { volume } = await this.d.volumes.create(m.name ? { Name: m.name } : {});
          m.name = volume.Name;
          m.source = volume.Mountpoint;
        } else if (m.type === 'bind' && createSource) {
          await fsp.mkdir(m.source, { recursive: true });
        }
        mounts.push(m);
      }
      const rec: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        path: merged.path,
        args: merged.args,
        config: merged.config,
        hostConfig: hc,
        image: image.id,
        mounts,
        state: initialState(),
        restartCount: 0,
      };
      if (merged.config.Healthcheck?.Test?.length && merged.config.Healthcheck.Test[0] !== 'NONE')
        rec.health = { Status: 'starting', FailingStreak: 0, Log: [] };
      await this.d.store.files(id).ensure();
      await this.d.store.save(rec);
      this.d.events.publish('container', 'create', id, this.lifecycle.attrs(rec));
      return { Id: id, Warnings: warnings };
    } catch (err) {
      this.d.store.releaseName(name, id);
      if (registered) await this.d.network.unregister(id).catch(() => undefined);
      for (const m of mounts)
        if (m.type === 'volume' && m.anonymous)
          await this.d.volumes.remove(m.name!, true).catch(() => undefined);
      await fsp.rm(this.d.store.files(id).path, { recursive: true, force: true });
      throw err;
    }
  }

  async rename(ref: string, newName: string | null): Promise<void> {
    if (!newName) throw badParameter('Neither old nor new names may be empty');
    const rec = this.d.store.get(ref);
    const name = validateName(newName);
    if (name === rec.name) throw badParameter(`Renaming a container with the same name as its current name`);
    const old = rec.name;
    this.d.store.reserveName(name, rec.id);
    rec.name = name;
    try {
      await this.d.store.save(rec);
    } catch (err) {
      this.d.store.releaseName(name, rec.id);
      rec.name = old;
      throw err;
    }
    this.d.store.releaseName(old, rec.id);
    this.d.events.publish('container', 'rename', rec.id, this.lifecycle.attrs(rec, { oldName: old }));
  }

  async update(ref: string, body: unknown): Promise<string[]> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badParameter('invalid update body: expected a JSON object');
    const upd = body as Resources & { RestartPolicy?: RestartPolicy };
    for (const [k, v] of Object.entries(upd))
      if (
        k !== 'RestartPolicy' &&
        v !== null &&
        v !== undefined &&
        typeof v !== 'number' &&
        typeof v !== 'string' &&
        !Array.isArray(v)
      )
        throw badParameter(`invalid value for ${k}`);
    const rec = this.d.store.get(ref);
    return this.lifecycle.lock.run(rec.id, async () => {
      const next: HostConfig = { ...rec.hostConfig };
      for (const k of [
        'Memory',
        'MemorySwap',
        'MemoryReservation',
        'CpuShares',
        'CpuPeriod',
        'CpuQuota',
        'NanoCpus',
        'CpusetCpus',
        'CpusetMems',
        'PidsLimit',
        'BlkioWeight',
      ] as const) {
        const v = upd[k];
        if (v !== undefined && v !== null && v !== 0 && v !== '') (next as Record<string, unknown>)[k] = v;
      }
      if (upd.NanoCpus) {
        delete next.CpuQuota;
        delete next.CpuPeriod;
      }
      if (
        next.Memory &&
        rec.hostConfig.MemorySwap &&
        !upd.MemorySwap &&
        rec.hostConfig.MemorySwap < next.Memory
      )
        next.MemorySwap = next.Memory * 2;
      validateResources(next, []);
      if (upd.RestartPolicy) {
        validateRestartPolicy(upd.RestartPolicy, next.AutoRemove);
        next.RestartPolicy = {
          Name: upd.RestartPolicy.Name || 'no',
          MaximumRetryCount: upd.RestartPolicy.MaximumRetryCount ?? 0,
        };
      }
      if (isRunning(rec.state)) await this.d.runtime.update(rec.id, cgroupResources(next));
      rec.hostConfig = next;
      await this.d.store.save(rec);
      this.d.events.publish('container', 'update', rec.id, this.lifecycle.attrs(rec));
      return [];
    });
  }

  /**
   * Removes stopped containers matching `until` (a unix time, an RFC 3339 time or a duration before now) and
   * labels; one that cannot be removed is skipped, as dockerd does.
   */
  async prune(
    f: Filters,
    rwSize: (rec: ContainerRecord) => Promise<number>,
  ): Promise<ContainerPruneResponse> {
    checkFilters(f, ['until', 'label', 'label!']);
    const untilRaw = f.get('until')?.[0];
    let untilMs = Infinity;
    if (untilRaw) {
      untilMs = /^\d+(\.\d+)?$/.test(untilRaw)
        ? Number(untilRaw) * 1000
        : /^\d+[smh]$/.test(untilRaw)
          ? Date.now() -
            Number(untilRaw.slice(0, -1)) * { s: 1e3, m: 6e4, h: 3.6e6 }[untilRaw.slice(-1) as 's']
          : Date.parse(untilRaw);
      if (Number.isNaN(untilMs)) throw badParameter(`invalid filter 'until=${untilRaw}'`);
    }
    const out: ContainerPruneResponse = { ContainersDeleted: [], SpaceReclaimed: 0 };
    for (const rec of this.d.store.all()) {
      if (!['exited', 'created', 'dead'].includes(rec.state.status)) continue;
      if (Date.parse(rec.created) > untilMs) continue;
      if (!matchLabels(rec.config.Labels, f.get('label'))) continue;
      if (f.get('label!')?.some((w) => matchLabels(rec.config.Labels, [w]))) continue;
      const size = await rwSize(rec);
      try {
        await this.lifecycle.remove(rec.id, { force: false, volumes: false });
      } catch {
        continue;
      }
      out.ContainersDeleted!.push(rec.id);
      out.SpaceReclaimed += size;
    }
    return out;
  }
}

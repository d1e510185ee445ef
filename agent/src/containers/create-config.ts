/**
 * Docker create request → validated container config: body shape checks (untrusted JSON), the image/container
 * merge rules (env by key, entrypoint/cmd, workdir, labels, healthcheck) and HostConfig resource checks, all
 * with dockerd's wording.
 */
import os from 'node:os';
import type {
  ContainerConfig,
  ContainerCreateRequest,
  HostConfig,
  ImageContainerConfig,
  RestartPolicy,
} from '@berth/common';
import { badParameter } from '../errors.js';
import { parseSignal } from './units.js';

type Shape = 'string' | 'number' | 'boolean' | 'strings' | 'record' | 'object' | 'array';

const CONFIG_SHAPE: Record<string, Shape> = {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  AttachStdin: 'boolean',
  AttachStdout: 'boolean',
  AttachStderr: 'boolean',
  Tty: 'boolean',
  OpenStdin: 'boolean',
  StdinOnce: 'boolean',
  Env: 'strings',
  Cmd: 'strings',
  Entrypoint: 'strings',
  Image: 'string',
  WorkingDir: 'string',
  Labels: 'record',
  StopSignal: 'string',
  StopTimeout: 'number',
  Volumes: 'object',
  ExposedPorts: 'object',
  Healthcheck: 'object',
  HostConfig: 'object',
  NetworkingConfig: 'object',
  Shell: 'strings',
  OnBuild: 'strings',
  NetworkDisabled: 'boolean',
};

const HOST_SHAPE: Record<string, Shape> = {
  Binds: 'strings',
  Mounts: 'array',
  Tmpfs: 'record',
  NetworkMode: 'string',
  RestartPolicy: 'object',
  AutoRemove: 'boolean',
  CapAdd: 'strings',
  CapDrop: 'strings',
  Dns: 'strings',
  DnsOptions: 'strings',
  DnsSearch: 'strings',
  ExtraHosts: 'strings',
  GroupAdd: 'strings',
  Privileged: 'boolean',
  ReadonlyRootfs: 'boolean',
  SecurityOpt: 'strings',
  Sysctls: 'record',
  ShmSize: 'number',
  Init: 'boolean',
  Memory: 'number',
  MemorySwap: 'number',
  MemoryReservation: 'number',
  NanoCpus: 'number',
  CpuShares: 'number',
  CpuPeriod: 'number',
  CpuQuota: 'number',
  CpusetCpus: 'string',
  CpusetMems: 'string',
  PidsLimit: 'number',
  BlkioWeight: 'number',
  Ulimits: 'array',
  OomScoreAdj: 'number',
  LogConfig: 'object',
  PortBindings: 'object',
  PidMode: 'string',
  IpcMode: 'string',
  UTSMode: 'string',
  CgroupnsMode: 'string',
  CgroupParent: 'string',
  Devices: 'array',
  MaskedPaths: 'strings',
  ReadonlyPaths: 'strings',
};

function checkShape(obj: Record<string, unknown>, shape: Record<string, Shape>, where: string): void {
  for (const [k, want] of Object.entries(shape)) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    const ok =
      want === 'strings'
        ? Array.isArray(v) && v.every((x) => typeof x === 'string')
        : want === 'array'
          ? Array.isArray(v)
          : want === 'record'
            ? typeof v === 'object' &&
              !Array.isArray(v) &&
              Object.values(v).every((x) => typeof x === 'string')
            : want === 'object'
              ? typeof v === 'object' && !Array.isArray(v)
              : want === 'number'
                ? typeof v === 'number' && Number.isFinite(v)
                : typeof v === want;
    if (!ok) {
      const what =
        want === 'strings'
          ? 'an array of strings'
          : want === 'record'
            ? 'a map of strings'
            : want === 'array'
              ? 'an array'
              : `a ${want}`;
      throw badParameter(
        `json: cannot unmarshal ${where}${k}: expected ${what}, got ${JSON.stringify(v).slice(0, 60)}`,
      );
    }
  }
}

/** Checks an untrusted create body; `docker run -e` with a non-string or `Memory: "1g"` gets a 400 here. */
export function validateCreateBody(raw: unknown): ContainerCreateRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw badParameter('invalid container create body: expected a JSON object');
  const body = raw as Record<string, unknown>;
  checkShape(body, CONFIG_SHAPE, '');
  if (body.HostConfig) checkShape(body.HostConfig as Record<string, unknown>, HOST_SHAPE, 'HostConfig.');
  if (typeof body.Image !== 'string' || body.Image === '')
    throw badParameter('config.Image must be specified');
  return body;
}

/** Env lists merged by key, the later winning, order of first appearance kept (as dockerd's ReplaceOrAppendEnvValues). */
export function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = [...base];
  const idx = new Map<string, number>();
  out.forEach((e, i) => idx.set(e.split('=')[0], i));
  for (const e of over) {
    const k = e.split('=')[0];
    if (!e.includes('=')) {
      // `-e NAME` with no value and no such variable on the client: dockerd drops it.
      continue;
    }
    const i = idx.get(k);
    if (i === undefined) {
      idx.set(k, out.length);
      out.push(e);
    } else out[i] = e;
  }
  return out;
}

/**
 * Config.Env of a new container as dockerd's mergeAndVerifyConfig builds it: the request's entries as given
 * (`NAME` without a value included), then each image entry whose name the request does not set.
 */
export function createEnv(image: readonly string[], request: readonly string[]): string[] {
  if (request.length === 0) return [...image];
  const names = new Set(request.map((e) => e.split('=')[0]));
  return [...request, ...image.filter((e) => !names.has(e.split('=')[0]))];
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface MergedConfig {
  config: ContainerConfig;
  path: string;
  args: string[];
}

/** The image's config under the request's, as dockerd's merge (daemon/create.go + container/config merge). */
export function mergeWithImage(
  req: ContainerCreateRequest,
  img: ImageContainerConfig,
  id: string,
): MergedConfig {
  const env = createEnv(img.Env ?? [], req.Env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  // An explicit entrypoint drops the image's Cmd unless Cmd is given too (docker run --entrypoint).
  const entrypoint = req.Entrypoint != null ? req.Entrypoint : (img.Entrypoint ?? null);
  const cmd =
    req.Cmd != null && req.Cmd.length > 0 ? req.Cmd : req.Entrypoint != null ? null : (img.Cmd ?? null);
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0) throw badParameter('no command specified');
  const workdir = req.WorkingDir || img.WorkingDir || '';
  if (workdir && !workdir.startsWith('/'))
    throw badParameter(`the working directory '${workdir}' is invalid, it needs to be an absolute path`);
  let healthcheck = img.Healthcheck;
  if (req.Healthcheck) {
    const h = req.Healthcheck;
    healthcheck = {
      ...(img.Healthcheck ?? {}),
      ...Object.fromEntries(
        Object.entries(h).filter(
          // null and 0 durations mean "the default", as dockerd (and compose, which sends null) take them.
          ([, v]) => v !== undefined && v !== null && v !== 0 && !(Array.isArray(v) && v.length === 0),
        ),
      ),
    };
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = healthcheck?.[k];
    if (v !== undefined && v !== 0 && v < 1_000_000)
      throw badParameter(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if (healthcheck?.Retries !== undefined && healthcheck.Retries < 0)
    throw badParameter('Retries in Healthcheck cannot be negative');
  const stopSignal = req.StopSignal || img.StopSignal;
  if (stopSignal) parseSignal(stopSignal);
  const config: ContainerConfig = {
    Hostname: req.Hostname || id.slice(0, 12),
    Domainname: req.Domainname ?? '',
    // The CLI always sends User ("" when no --user): empty means the image's user, as dockerd.
    User: req.User || img.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ...(req.ExposedPorts || img.ExposedPorts
      ? { ExposedPorts: { ...(img.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) } }
      : {}),
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: env,
    Cmd: cmd,
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Image: req.Image ?? '',
    Volumes: req.Volumes || img.Volumes ? { ...(img.Volumes ?? {}), ...(req.Volumes ?? {}) } : null,
    WorkingDir: workdir,
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: { ...(img.Labels ?? {}), ...(req.Labels ?? {}) },
    ...(stopSignal ? { StopSignal: stopSignal } : {}),
    ...(req.StopTimeout !== undefined && req.StopTimeout !== null ? { StopTimeout: req.StopTimeout } : {}),
  };
  return { config, path: argv[0], args: argv.slice(1) };
}

const MIN_MEMORY = 6 * 1024 * 1024;

/** HostConfig checks dockerd makes at create and update (verifyPlatformContainerResources). */
export function validateResources(hc: HostConfig, warnings: string[]): void {
  if (hc.Memory && hc.Memory < 0) throw badParameter('invalid memory limit: negative values are not allowed');
  if (hc.Memory && hc.Memory > 0 && hc.Memory < MIN_MEMORY)
    throw badParameter('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap && hc.MemorySwap > 0) {
    if (!hc.Memory)
      throw badParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
    if (hc.MemorySwap < hc.Memory)
      throw badParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (hc.MemoryReservation && hc.Memory && hc.MemoryReservation > hc.Memory)
    throw badParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  if (hc.NanoCpus && (hc.CpuQuota || hc.CpuPeriod))
    throw badParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  const ncpu = os.cpus().length;
  if (hc.NanoCpus && (hc.NanoCpus < 0 || hc.NanoCpus > ncpu * 1e9))
    throw badParameter(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  if (hc.CpuPeriod && (hc.CpuPeriod < 1000 || hc.CpuPeriod > 1_000_000))
    throw badParameter(
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    );
  if (hc.CpuQuota && hc.CpuQuota > 0 && hc.CpuQuota < 1000)
    throw badParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (hc.CpusetCpus && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(hc.CpusetCpus))
    throw badParameter(`Invalid value ${hc.CpusetCpus} for cpuset cpus`);
  if (hc.CpusetCpus) {
    const max = Math.max(...hc.CpusetCpus.split(/[,-]/).map(Number));
    if (max >= ncpu)
      throw badParameter(
        `Requested CPUs are not available - requested ${hc.CpusetCpus}, available: ${ncpu === 1 ? '0' : `0-${ncpu - 1}`}`,
      );
  }
  if (hc.BlkioWeight && (hc.BlkioWeight < 10 || hc.BlkioWeight > 1000))
    throw badParameter('Range of blkio weight is from 10 to 1000');
  if (hc.OomScoreAdj !== undefined && (hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000))
    throw badParameter(`Invalid value ${hc.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  if (hc.ShmSize && hc.ShmSize < 0) throw badParameter('SHM size can not be less than 0');
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && hc.PidsLimit < 0 && hc.PidsLimit !== -1)
    hc.PidsLimit = -1;
  if (
    hc.MemorySwappiness !== undefined &&
    hc.MemorySwappiness !== null &&
    hc.MemorySwappiness !== -1 &&
    (hc.MemorySwappiness < 0 || hc.MemorySwappiness > 100)
  )
    throw badParameter(`Invalid value: ${hc.MemorySwappiness}, valid memory swappiness range is 0-100`);
  void warnings;
}

export function validateRestartPolicy(p: RestartPolicy | undefined, autoRemove: boolean | undefined): void {
  if (!p) return;
  const name = p.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name))
    throw badParameter(
      `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  if (p.MaximumRetryCount && p.MaximumRetryCount < 0)
    throw badParameter('invalid restart policy: maximum retry count cannot be negative');
  if (p.MaximumRetryCount && name !== 'on-failure')
    throw badParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (autoRemove && name !== '' && name !== 'no')
    throw badParameter(`can't create 'AutoRemove' container with restart policy`);
}

/** Namespaced sysctls only, as dockerd's validation (others would change the host). */
export function validateSysctls(sysctls: Record<string, string> | null | undefined, netMode: string): void {
  for (const k of Object.keys(sysctls ?? {})) {
    const ipc = [
      'kernel.msgmax',
      'kernel.msgmnb',
      'kernel.msgmni',
      'kernel.sem',
      'kernel.shmall',
      'kernel.shmmax',
      'kernel.shmmni',
      'kernel.shm_rmid_forced',
    ];
    if (ipc.includes(k) || k.startsWith('fs.mqueue.')) continue;
    if (k.startsWith('net.')) {
      if (netMode === 'host') throw badParameter(`sysctl '${k}' not allowed in host network namespace`);
      continue;
    }
    throw badParameter(`invalid argument: sysctl '${k}' is not allowed`);
  }
}

/** A container record (+ its image and resolved user) → the runtime's RuntimeSpec. Pure: no I/O. */
import type { HostConfig } from '@berth/common';
import { badParameter } from '../errors.js';
import {
  DOCKER_DEFAULT_CAPS,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  type CgroupResources,
  type MountSpec,
  type NamespaceSpec,
  type RuntimeSpec,
} from '../runtime/types.js';
import type { ContainerDir, EtcPaths } from './container-dir.js';
import type { ContainerRecord } from './record.js';
import type { ResolvedUser } from './user.js';
import { parseBytes } from './units.js';
import { CAPABILITIES } from '../runtime/caps.js';

/** Every capability the kernel knows, in bit order (the runtime's own table). */
export const ALL_CAPS: readonly string[] = CAPABILITIES;

function capName(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' ? 'ALL' : u.startsWith('CAP_') ? u : `CAP_${u}`;
}

/** Docker's TweakCapabilities: default set, then adds, then drops; ALL on either side. */
export function capabilities(hc: HostConfig): string[] {
  if (hc.Privileged) return [...ALL_CAPS];
  const add = (hc.CapAdd ?? []).map(capName);
  const drop = (hc.CapDrop ?? []).map(capName);
  for (const c of [...add, ...drop])
    if (c !== 'ALL' && !ALL_CAPS.includes(c)) throw badParameter(`unknown capability: "${c}"`);
  let caps = add.includes('ALL')
    ? [...ALL_CAPS]
    : [...DOCKER_DEFAULT_CAPS, ...add.filter((c) => !DOCKER_DEFAULT_CAPS.includes(c))];
  if (drop.includes('ALL')) caps = add.filter((c) => c !== 'ALL');
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)];
}

export function securityOpts(hc: HostConfig): {
  seccomp: 'default' | 'unconfined';
  noNewPrivileges: boolean;
} {
  let seccomp: 'default' | 'unconfined' = hc.Privileged ? 'unconfined' : 'default';
  let noNewPrivileges = false;
  for (const o of hc.SecurityOpt ?? []) {
    const [k, v] = o.includes('=')
      ? (o.split('=', 2) as [string, string])
      : (o.split(':', 2) as [string, string | undefined]);
    if (k === 'seccomp') {
      if (v === 'unconfined') seccomp = 'unconfined';
      else if (v !== 'builtin' && v !== 'default')
        throw badParameter(`seccomp profiles from files are not supported: ${o}`);
    } else if (k === 'no-new-privileges') noNewPrivileges = v === undefined || v === 'true';
    else if (k === 'apparmor' || k === 'label') continue;
    else throw badParameter(`invalid --security-opt 2: "${o}"`);
  }
  return { seccomp, noNewPrivileges };
}

export function namespaceFor(
  mode: string | undefined,
  lookupPid: (ref: string) => number,
): NamespaceSpec & { kind?: string } {
  if (!mode || mode === 'private' || mode === 'shareable') return { mode: 'new' };
  if (mode === 'host') return { mode: 'host' };
  if (mode.startsWith('container:')) return { mode: 'join', path: `/proc/${lookupPid(mode.slice(10))}/ns` };
  throw badParameter(`invalid mode: ${mode}`);
}

export function cgroupResources(hc: HostConfig): CgroupResources {
  const r: CgroupResources = {};
  if (hc.Memory) r.memory = hc.Memory;
  if (hc.MemorySwap) r.memorySwap = hc.MemorySwap;
  if (hc.MemoryReservation) r.memoryReservation = hc.MemoryReservation;
  if (hc.CpuShares) r.cpuShares = hc.CpuShares;
  if (hc.NanoCpus) {
    r.cpuPeriod = 100_000;
    r.cpuQuota = Math.round((hc.NanoCpus * 100_000) / 1e9);
  } else {
    if (hc.CpuQuota) r.cpuQuota = hc.CpuQuota;
    if (hc.CpuPeriod) r.cpuPeriod = hc.CpuPeriod;
  }
  if (hc.CpusetCpus) r.cpusetCpus = hc.CpusetCpus;
  if (hc.CpusetMems) r.cpusetMems = hc.CpusetMems;
  if (hc.PidsLimit) r.pidsLimit = hc.PidsLimit;
  if (hc.BlkioWeight) r.blkioWeight = hc.BlkioWeight;
  return r;
}

/** False for `--log-driver none`: the container's output goes to attached clients only. */
export function keepsLog(hc: HostConfig): boolean {
  return hc.LogConfig?.Type !== 'none';
}

export function logLimits(hc: HostConfig): { maxSize: number; maxFile: number } {
  const cfg = hc.LogConfig?.Config ?? {};
  const maxSize = cfg['max-size'] ? parseBytes(cfg['max-size'], 'max-size') : 0;
  const maxFile = cfg['max-file'] ? Number(cfg['max-file']) : 1;
  if (!Number.isInteger(maxFile) || maxFile < 1)
    throw badParameter(`invalid value for max-file: ${cfg['max-file']}`);
  return { maxSize, maxFile };
}

export interface SpecInputs {
  rec: ContainerRecord;
  layerDirs: string[];
  dir: ContainerDir;
  user: ResolvedUser;
  etc: EtcPaths;
  cgroupParent: string;
  /** Host path for each volume mount (by destination). */
  volumePath: (name: string) => string;
  lookupPid: (ref: string) => number;
  /** Variables of the containers it links to (--link), before its own, as dockerd's CreateDaemonEnvironment. */
  linkEnv?: string[];
  /** From the network domain's setUp(). */
  net: NamespaceSpec;
}

export function buildRuntimeSpec(inp: SpecInputs): RuntimeSpec {
  const { rec } = inp;
  const hc = rec.hostConfig;
  const cfg = rec.config;
  // `NAME` without a value stays in Config.Env but is not passed to the process, as with dockerd.
  const own = (cfg.Env ?? []).filter((e) => e.includes('='));
  const ownNames = new Set(own.map((e) => e.slice(0, e.indexOf('='))));
  const env = [...(inp.linkEnv ?? []).filter((e) => !ownNames.has(e.slice(0, e.indexOf('=')))), ...own];
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  if (!has('HOSTNAME')) env.push(`HOSTNAME=${cfg.Hostname}`);
  if (cfg.Tty && !has('TERM')) env.push('TERM=xterm');
  if (!has('HOME')) env.push(`HOME=${inp.user.home}`);
  const sec = securityOpts(hc);
  const mounts: MountSpec[] = rec.mounts.map((m) =>
    m.type === 'tmpfs'
      ? {
          type: 'tmpfs',
          destination: m.destination,
          readonly: !m.rw,
          ...(m.tmpfs?.size ? { size: m.tmpfs.size } : {}),
          ...(m.tmpfs?.mode !== undefined ? { mode: m.tmpfs.mode } : {}),
          options: m.tmpfs?.options ?? [],
        }
      : {
          type: 'bind',
          source: m.type === 'volume' ? inp.volumePath(m.name!) : m.source,
          destination: m.destination,
          readonly: !m.rw,
          propagation: (m.propagation || 'rprivate') as 'rprivate',
          recursive: true,
          ...(m.options ? { options: m.options } : {}),
        },
  );
  const withNs = (ns: NamespaceSpec, kind: string): NamespaceSpec =>
    ns.mode === 'join' ? { mode: 'join', path: `${ns.path}/${kind}` } : ns;
  return {
    id: rec.id,
    rootfs: inp.dir.rootfs(inp.layerDirs),
    readonlyRootfs: hc.ReadonlyRootfs === true,
    hostname: cfg.Hostname ?? rec.id.slice(0, 12),
    ...(cfg.Domainname ? { domainname: cfg.Domainname } : {}),
    process: {
      args: [rec.path, ...rec.args],
      env,
      cwd: cfg.WorkingDir || '/',
      user: { uid: inp.user.uid, gid: inp.user.gid, additionalGids: inp.user.additionalGids },
      terminal: cfg.Tty === true,
      openStdin: cfg.OpenStdin === true,
      stdinOnce: cfg.StdinOnce === true,
      capabilities: capabilities(hc),
      noNewPrivileges: sec.noNewPrivileges,
      rlimits: (hc.Ulimits ?? []).map((u) => ({ type: u.Name, soft: u.Soft, hard: u.Hard })),
      init: hc.Init === true,
      ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
    },
    mounts,
    namespaces: {
      pid: withNs(namespaceFor(hc.PidMode, inp.lookupPid), 'pid'),
      net: inp.net,
      ipc: withNs(namespaceFor(hc.IpcMode, inp.lookupPid), 'ipc'),
      uts: withNs(namespaceFor(hc.UTSMode, inp.lookupPid), 'uts'),
      cgroup: hc.CgroupnsMode === 'host' ? { mode: 'host' } : { mode: 'new' },
      mnt: { mode: 'new' },
    },
    cgroup: { parent: hc.CgroupParent || inp.cgroupParent, name: rec.id, resources: cgroupResources(hc) },
    maskedPaths: hc.Privileged ? [] : [...(hc.MaskedPaths ?? DOCKER_MASKED_PATHS)],
    readonlyPaths: hc.Privileged ? [] : [...(hc.ReadonlyPaths ?? DOCKER_READONLY_PATHS)],
    sysctls: { ...(hc.Sysctls ?? {}) },
    shmSize: hc.ShmSize || 64 * 1024 * 1024,
    devices: (hc.Devices ?? []).map((d) => ({
      hostPath: d.PathOnHost,
      containerPath: d.PathInContainer || d.PathOnHost,
      permissions: d.CgroupPermissions || 'rwm',
    })),
    privileged: hc.Privileged === true,
    seccomp: sec.seccomp,
    etcFiles: { hostname: inp.etc.hostname, hosts: inp.etc.hosts, resolvConf: inp.etc.resolvConf },
    log: { path: keepsLog(hc) ? inp.dir.log : '', ...logLimits(hc) },
    annotations: { name: rec.name },
  };
}

/**
 * Compiles a RuntimeSpec into the op list the native helper performs in order (agent/native/spec.c):
 * all policy — which mounts, which flags, which paths are masked, which capabilities, the seccomp
 * program — is decided here; the C side only executes.
 */
import { allCapsMask, capMask } from './caps.js';
import { compileSeccomp } from './seccomp/bpf.js';
import {
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  type ExecProcessSpec,
  type MountSpec,
  type NamespaceSpec,
  type RuntimeSpec,
} from './types.js';

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  STRICTATIME: 1 << 24,
} as const;

const CLONE = {
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
};

const RLIMITS: Record<string, number> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
};

/** One op line: TAB-separated fields with \\, \t and \n escaped (the C parser's format). */
export function opLine(fields: (string | number)[]): string {
  return fields
    .map((f) => String(f).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))
    .join('\t');
}

function optionFlags(options: readonly string[] | undefined): number {
  let f = 0;
  for (const o of options ?? []) {
    if (o === 'nosuid') f |= MS.NOSUID;
    else if (o === 'nodev') f |= MS.NODEV;
    else if (o === 'noexec') f |= MS.NOEXEC;
    else if (o === 'ro') f |= MS.RDONLY;
  }
  return f;
}

/** rlimit name ('nofile' or 'RLIMIT_NOFILE') → number; throws for unknown names. */
export function rlimitNumber(type: string): number {
  const n = RLIMITS[type.toLowerCase().replace(/^rlimit_/, '')];
  if (n === undefined) throw new Error(`invalid ulimit type: ${type}`);
  return n;
}

function hex64(v: bigint): string {
  return v.toString(16);
}

/** caps op: bounding, permitted, effective; non-root users get only the bounding set, as Docker. */
function capsOp(caps: readonly string[], privileged: boolean, uid: number): (string | number)[] {
  const set = privileged ? allCapsMask() : capMask(caps);
  const prm = uid === 0 ? set : 0n;
  return ['caps', hex64(set), hex64(prm), hex64(prm)];
}

function identityOps(p: {
  env: readonly string[];
  user: { uid: number; gid: number; additionalGids: number[] };
  capabilities: readonly string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined';
  cwd: string;
  args: readonly string[];
}): string[] {
  const ops: (string | number)[][] = [];
  for (const e of p.env) ops.push(['env', e]);
  ops.push(['cwd', p.cwd || '/']);
  ops.push(['user', p.user.uid, p.user.gid, p.user.additionalGids.join(',')]);
  ops.push(capsOp(p.capabilities, p.privileged, p.user.uid));
  if (p.noNewPrivileges) ops.push(['nnp']);
  if (!p.privileged && p.seccomp === 'default') {
    const caps = p.privileged ? [] : p.capabilities;
    ops.push(['seccomp', compileSeccomp(caps).toString('hex')]);
  }
  ops.push(['args', ...p.args]);
  return ops.map(opLine);
}

export interface CreateContext {
  /** The shim binary, bind-mounted at /sbin/docker-init for --init. */
  shimPath: string;
  cgroupProcs: string[];
  oomFile?: string;
  cgroupVersion: 1 | 2;
  /** A device BPF program (eBPF, little-endian) to attach to this cgroup2 directory before the process joins. */
  deviceFilter?: { dir: string; program: Buffer };
  /** v1 hierarchies shown read-only under /sys/fs/cgroup (with a private cgroup namespace, as Docker). */
  cgroupV1Mounts?: { dir: string; options: string }[];
}

function isNew(ns: NamespaceSpec): boolean {
  return ns.mode === 'new';
}

function userMountOps(m: MountSpec): (string | number)[][] {
  if (m.type === 'bind') {
    let flags = MS.BIND | (m.recursive === false ? 0 : MS.REC) | optionFlags(m.options);
    if (m.readonly) flags |= MS.RDONLY;
    const ops: (string | number)[][] = [['rmount', m.source, m.destination, '', flags, '', 'a']];
    const prop = PROPAGATION[m.propagation ?? 'rprivate'];
    if (prop !== undefined) ops.push(['rmount', '', m.destination, '', prop, '', '-']);
    return ops;
  }
  const data = [m.mode !== undefined ? `mode=${m.mode.toString(8)}` : '', m.size ? `size=${m.size}` : '']
    .filter(Boolean)
    .join(',');
  const flags = optionFlags(m.options) | (m.readonly ? MS.RDONLY : 0);
  return [['rmount', 'tmpfs', m.destination, 'tmpfs', flags, data, 'd']];
}

const STD_DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

/** The overlay op: layers named relative to their common parent, so the helper's mount(2) fallback (kernels
 *  before 6.8, without fsconfig "lowerdir+") fits in a page for as many layers as possible. */
export function overlayOp(
  lower: readonly string[],
  upper: string,
  work: string,
  target: string,
): (string | number)[] {
  const parts = lower.map((l) => l.split('/'));
  let n = 0;
  while (parts.every((p) => p.length > n + 1 && p[n] === parts[0][n])) n++;
  const base = parts[0].slice(0, n).join('/') || '/';
  return ['overlay', target, upper, work, base, ...parts.map((p) => p.slice(n).join('/'))];
}

/** The create-time op list for `spec`. */
export function compileCreateOps(spec: RuntimeSpec, ctx: CreateContext): string {
  const ns = spec.namespaces;
  if (ns.mnt.mode !== 'new') throw new Error('the container needs its own mount namespace');
  const p = spec.process;
  const ops: (string | number)[][] = [
    ['id', spec.id],
    ['log', spec.log.path, spec.log.maxSize, spec.log.maxFile],
    ['terminal', p.terminal ? 1 : 0],
    ['stdin', p.openStdin ? 1 : 0],
    ['stdinonce', p.stdinOnce ? 1 : 0],
  ];
  let flags = CLONE.NEWNS;
  if (isNew(ns.pid)) flags |= CLONE.NEWPID;
  if (isNew(ns.net)) flags |= CLONE.NEWNET;
  if (isNew(ns.ipc)) flags |= CLONE.NEWIPC;
  if (isNew(ns.uts)) flags |= CLONE.NEWUTS;
  ops.push(['nsflags', flags]);
  // the cgroup namespace is made after the process joined its cgroup, so that cgroup becomes its root
  if (isNew(ns.cgroup)) ops.push(['cgroupns', 1]);
  for (const [type, n] of Object.entries(ns)) {
    if ((n as NamespaceSpec).mode !== 'join') continue;
    const p = (n as { path: string }).path.replace(/\/+$/, '');
    // '/proc/<pid>/ns' (another container's namespaces) means the file of this type in it
    ops.push(['nsjoin', type, /^\/proc\/\d+\/ns$/.test(p) ? `${p}/${type}` : p]);
  }
  if (ctx.deviceFilter) ops.push(['devbpf', ctx.deviceFilter.dir, ctx.deviceFilter.program.toString('hex')]);
  for (const f of ctx.cgroupProcs) ops.push(['cgroupprocs', f]);
  if (ctx.oomFile) ops.push(['oomfile', ctx.oomFile]);

  // --- in the child, new mount namespace: nothing below is visible on the host ---
  ops.push(['mount', '', '/', '', MS.REC | MS.SLAVE, '']);
  const r = spec.rootfs;
  const root = r.kind === 'overlay' ? r.target : r.path;
  if (r.kind === 'overlay') {
    ops.push(overlayOp(r.lowerDirs, r.upperDir, r.workDir, r.target));
  } else {
    ops.push(['mount', r.path, r.path, '', MS.BIND | MS.REC, '']);
  }
  ops.push(['rootfs', root]);
  const nse = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  ops.push(['rmount', 'proc', '/proc', 'proc', nse, '', 'd']);
  if (spec.privileged) {
    ops.push(['rmount', '/dev', '/dev', '', MS.BIND | MS.REC, '', 'd']);
  } else {
    ops.push(['rmount', 'tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k', 'd']);
    for (const [path, major, minor] of STD_DEVICES) ops.push(['rmknod', path, 0o20666, major, minor]);
    ops.push(['rsymlink', '/proc/self/fd', '/dev/fd']);
    ops.push(['rsymlink', '/proc/self/fd/0', '/dev/stdin']);
    ops.push(['rsymlink', '/proc/self/fd/1', '/dev/stdout']);
    ops.push(['rsymlink', '/proc/self/fd/2', '/dev/stderr']);
    ops.push(['rsymlink', 'pts/ptmx', '/dev/ptmx']);
  }
  ops.push([
    'rmount',
    'devpts',
    '/dev/pts',
    'devpts',
    MS.NOSUID | MS.NOEXEC,
    'newinstance,ptmxmode=0666,mode=0620,gid=5',
    'd',
  ]);
  ops.push([
    'rmount',
    'shm',
    '/dev/shm',
    'tmpfs',
    nse,
    `mode=1777,size=${spec.shmSize || 64 * 1024 * 1024}`,
    'd',
  ]);
  if (isNew(ns.ipc)) ops.push(['rmount', 'mqueue', '/dev/mqueue', 'mqueue', nse, '', 'd']);
  ops.push(['rmount', 'sysfs', '/sys', 'sysfs', nse | (spec.privileged ? 0 : MS.RDONLY), '', 'd']);
  const cgRo = spec.privileged ? 0 : MS.RDONLY;
  if (ctx.cgroupVersion === 2 && isNew(ns.cgroup)) {
    ops.push(['rmount', 'cgroup', '/sys/fs/cgroup', 'cgroup2', nse | cgRo, '', 'd']);
  } else if (ctx.cgroupV1Mounts?.length && isNew(ns.cgroup)) {
    ops.push(['rmount', 'tmpfs', '/sys/fs/cgroup', 'tmpfs', nse, 'mode=755', 'd']);
    for (const m of ctx.cgroupV1Mounts)
      ops.push(['rmount', 'cgroup', `/sys/fs/cgroup/${m.dir}`, 'cgroup', nse | cgRo, m.options, 'd']);
    ops.push(['rmount', '', '/sys/fs/cgroup', '', MS.REMOUNT | nse | cgRo, 'mode=755', '-']);
  }
  for (const d of spec.devices) ops.push(['rmount', d.hostPath, d.containerPath, '', MS.BIND, '', 'f']);
  const etc = spec.etcFiles ?? {};
  if (etc.hostname) ops.push(['rmount', etc.hostname, '/etc/hostname', '', MS.BIND, '', 'f']);
  if (etc.hosts) ops.push(['rmount', etc.hosts, '/etc/hosts', '', MS.BIND, '', 'f']);
  if (etc.resolvConf) ops.push(['rmount', etc.resolvConf, '/etc/resolv.conf', '', MS.BIND, '', 'f']);
  if (p.init) ops.push(['rmount', ctx.shimPath, '/sbin/docker-init', '', MS.BIND | MS.RDONLY, '', 'f']);
  for (const m of spec.mounts) ops.push(...userMountOps(m));
  ops.push(['pivot']);
  if (spec.readonlyRootfs) ops.push(['rootro']);
  if (isNew(ns.uts)) {
    ops.push(['hostname', spec.hostname]);
    if (spec.domainname) ops.push(['domainname', spec.domainname]);
  }
  for (const [k, v] of Object.entries(spec.sysctls)) ops.push(['sysctl', k, v]);
  if (!spec.privileged) {
    for (const m of spec.maskedPaths) ops.push(['mask', m]);
    for (const m of spec.readonlyPaths) ops.push(['ropath', m]);
  }
  if (isNew(ns.net)) ops.push(['lo']);
  for (const l of p.rlimits) ops.push(['rlimit', rlimitNumber(l.type), l.soft, l.hard]);
  // always set: otherwise the container inherits the daemon's (possibly negative) score
  ops.push(['oomscore', p.oomScoreAdj ?? 0]);
  if (p.terminal && p.consoleSize)
    ops.push(['consolesize', Math.floor(p.consoleSize.rows), Math.floor(p.consoleSize.cols)]);
  if (p.terminal) ops.push(['openpty']);
  if (p.init) ops.push(['init', '/sbin/docker-init']);
  const text = ops.map(opLine);
  text.push(...identityOps({ ...p, privileged: spec.privileged, seccomp: spec.seccomp }));
  return text.join('\n') + '\n';
}

/**
 * The op list for `berth-shim exec`: enter the namespaces of `pid`, join its cgroups, take the container's
 * oom_score_adj (when known), become the user.
 */
export function compileExecOps(
  pid: number,
  proc: ExecProcessSpec,
  cgroupProcs: readonly string[],
  oomScoreAdj?: number,
): string {
  const ops: (string | number)[][] = [
    ['pid', pid],
    ['terminal', proc.terminal ? 1 : 0],
  ];
  if (proc.consoleSize) ops.push(['consolesize', proc.consoleSize.rows, proc.consoleSize.cols]);
  for (const f of cgroupProcs) ops.push(['cgroupprocs', f]);
  if (oomScoreAdj !== undefined) ops.push(['oomscore', oomScoreAdj]);
  return [...ops.map(opLine), ...identityOps(proc)].join('\n') + '\n';
}

export { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS };

/**
 * The runtime contract: `containers/` decides *what* runs (a RuntimeSpec, close to an OCI runtime spec but
 * already resolved: no image lookups, no name resolution, no defaults left to guess), `runtime/` decides *how*
 * (namespaces, mounts, pivot_root, cgroups, caps, seccomp, exec) and supervises the process.
 *
 * Process model (no Node process per container): `create()` starts one small native `berth-shim` per
 * container, detached (setsid) so it survives a berthd restart or kill -9. The shim is the parent of the
 * container's pid 1, holds its stdio (pipes, or the PTY master when `terminal`), writes the json-file log
 * itself (Docker's format and rotation), serves attachers on a unix socket, and on exit records
 * {exitCode, oomKilled, finishedAt} atomically in its state dir, then exits.
 *
 * Lifecycle (as runc create/start): create() sets everything up and leaves the process stopped just before
 * execve, so the caller can attach() first and lose no output; start() releases it. Errors that Docker maps
 * to exit codes come back as RuntimeError with `exitCode` 125 / 126 / 127 and dockerd's wording.
 *
 * State lives under the runtime's own state root (tmpfs, e.g. /run/berth/<hash of data root>/<id>), so a
 * host reboot forgets it: `list()` then returns nothing and containers/ marks its containers exited.
 * Daemon start: createRuntime(runtimeOptionsFor(config)) then reconcile(known ids); daemon stop: close().
 *
 * The rootfs is mounted only inside the container's mount namespace: while it runs, the host reaches it at
 * /proc/<pid>/root (docker cp/export of a running container); a stopped one has only its upper dir.
 * Because shims must outlive berthd, a systemd unit for berthd needs KillMode=process (as containerd's).
 */
import type { Readable, Writable } from 'node:stream';

/** A container or exec id: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters (Docker ids are 64 hex). */
export type ContainerId = string;

/** Rootfs as an overlay the runtime mounts inside the container's mount namespace (never visible on the
 *  host, so it cannot leak), or a plain directory that is bind-mounted. The caller creates the directories
 *  (containers/container-dir.ts); describe it with storage/overlay.ts. */
export type RootfsSpec =
  | { kind: 'overlay'; lowerDirs: string[]; upperDir: string; workDir: string; target: string }
  | { kind: 'dir'; path: string };

/** Namespace: a new one, the host's, or join the one at `path` (e.g. /proc/<pid>/ns/net, /run/netns/x;
 *  '/proc/<pid>/ns' alone means that process's namespace of the same type). */
export type NamespaceSpec = { mode: 'new' } | { mode: 'host' } | { mode: 'join'; path: string };

export interface NamespacesSpec {
  pid: NamespaceSpec;
  net: NamespaceSpec;
  ipc: NamespaceSpec;
  uts: NamespaceSpec;
  cgroup: NamespaceSpec;
  /** Always 'new' in practice (the rootfs needs its own mount namespace); 'host' is refused. */
  mnt: NamespaceSpec;
}

export interface UserSpec {
  uid: number;
  gid: number;
  /** Supplementary groups, already resolved from the image's /etc/group plus --group-add. */
  additionalGids: number[];
}

/** RLIMIT_* name without the prefix, lower case as Docker's --ulimit: nofile, nproc, core, memlock, stack... */
export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

/** Capability names as Docker prints them: 'CAP_CHOWN', 'CAP_NET_RAW', ... (see runtime/caps.ts). */
export type CapabilityName = string;

export interface ProcessSpec {
  /** argv, entrypoint + cmd already combined; args[0] is looked up in the container's PATH (from env). */
  args: string[];
  /** 'KEY=value' strings; PATH and HOSTNAME and HOME are expected to be set by the caller as Docker does. */
  env: string[];
  /** Absolute path inside the container; created (owned by the user) if missing, as Docker does. */
  cwd: string;
  user: UserSpec;
  /** Allocate a PTY: one raw output stream, resizeable. */
  terminal: boolean;
  /** Initial PTY size (HostConfig.ConsoleSize [height, width]); 24x80 otherwise. */
  consoleSize?: { rows: number; cols: number };
  /** Keep stdin open for attachers (docker -i). Without it, the process reads /dev/null. */
  openStdin: boolean;
  /** Close the process's stdin when the first attacher that wrote stdin detaches (docker run -i sets it). */
  stdinOnce: boolean;
  /** Bounding, permitted, effective set for uid 0; bounding only for other users (as Docker). Ambient: none. */
  capabilities: CapabilityName[];
  noNewPrivileges: boolean;
  rlimits: Rlimit[];
  /** --init: a tiny pid 1 (the shim binary, bind-mounted at /sbin/docker-init) that reaps and forwards. */
  init: boolean;
  /** Written to /proc/self/oom_score_adj before exec. */
  oomScoreAdj?: number;
}

/** Mounts are applied in order, after the rootfs and the standard /proc /sys /dev mounts. */
export type MountSpec =
  | {
      /** Bind of a host path (a bind mount or a volume's _data); `source` must exist. */
      type: 'bind';
      source: string;
      /** Absolute path inside the container; created (dir or empty file, like the source) if missing. */
      destination: string;
      readonly: boolean;
      /** rprivate (default), private, rshared, shared, rslave, slave. */
      propagation?: 'rprivate' | 'private' | 'rshared' | 'shared' | 'rslave' | 'slave';
      /** Recursive bind (default true, as Docker). */
      recursive?: boolean;
      /** nosuid, nodev, noexec as mount flags. */
      options?: string[];
    }
  | {
      type: 'tmpfs';
      destination: string;
      readonly: boolean;
      /** Bytes; 0 or absent = kernel default (half of RAM). */
      size?: number;
      /** Octal mode, e.g. 0o1777. */
      mode?: number;
      /** nosuid, nodev, noexec (Docker's --tmpfs default: noexec,nosuid,nodev). */
      options?: string[];
    };

export interface DeviceSpec {
  /** Host path of the device node (docker --device /dev/fuse:/dev/fuse:rwm). */
  hostPath: string;
  containerPath: string;
  /** 'rwm' subset: cgroup device permissions. */
  permissions: string;
}

export interface CgroupResources {
  /** Bytes; 0/absent = unlimited. */
  memory?: number;
  /** memory + swap in bytes; -1 = unlimited swap; absent = twice `memory` as Docker. */
  memorySwap?: number;
  memoryReservation?: number;
  /** cpu.shares (v1) 2..262144; mapped to cpu.weight on v2. */
  cpuShares?: number;
  /** cfs quota in µs per period; --cpus=1.5 → quota 150000, period 100000. */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** e.g. '0-1', '0,1'. */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** > 0 limit; -1 or 0/absent unlimited. */
  pidsLimit?: number;
  /** 10..1000; ignored (with a warning in RuntimeInfo) where the kernel lacks blkio weight. */
  blkioWeight?: number;
}

export interface CgroupSpec {
  /** Per-daemon parent, e.g. 'berth' or 'berth-test-1a2b' (--cgroup-parent). Relative to each hierarchy root
   *  (a leading '/' is ignored); '..' segments are refused with a RuntimeError. */
  parent: string;
  /** Leaf name; defaults to the container id. */
  name?: string;
  resources: CgroupResources;
}

export interface LogSpec {
  /** json-file path (containers/<id>/<id>-json.log); the shim appends, so a restart keeps old lines.
   *  Empty string: no log (--log-driver none). */
  path: string;
  /** Bytes before rotation; 0 = never rotate. */
  maxSize: number;
  /** Files kept including the live one (max-file, default 1). Rotated files are path.1, path.2, ... */
  maxFile: number;
}

export interface RuntimeSpec {
  id: ContainerId;
  rootfs: RootfsSpec;
  readonlyRootfs: boolean;
  hostname: string;
  domainname?: string;
  process: ProcessSpec;
  mounts: MountSpec[];
  namespaces: NamespacesSpec;
  cgroup: CgroupSpec;
  /** Paths hidden (/dev/null over files, empty ro tmpfs over dirs). Use DOCKER_MASKED_PATHS by default. */
  maskedPaths: string[];
  /** Paths remounted read-only. Use DOCKER_READONLY_PATHS by default. */
  readonlyPaths: string[];
  /** Namespaced sysctls only (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*); validated by caller. */
  sysctls: Record<string, string>;
  /** /dev/shm size in bytes (default 64 MiB as Docker). */
  shmSize: number;
  devices: DeviceSpec[];
  /** All caps, no seccomp, no masked/readonly paths, /sys rw, host devices. */
  privileged: boolean;
  seccomp: 'default' | 'unconfined';
  /** Host files bind-mounted (ro unless noted) at /etc/hostname, /etc/hosts, /etc/resolv.conf; written by caller. */
  etcFiles?: { hostname?: string; hosts?: string; resolvConf?: string };
  log: LogSpec;
  /** Free-form labels kept with the runtime state (e.g. the container name) for reconcile/debugging. */
  annotations?: Record<string, string>;
}

/** What exec runs inside a running container: same namespaces, cgroup, rootfs; its own user/caps/env. */
export interface ExecProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  user: UserSpec;
  terminal: boolean;
  capabilities: CapabilityName[];
  noNewPrivileges: boolean;
  privileged: boolean;
  seccomp: 'default' | 'unconfined';
  /** Initial PTY size (docker exec -it sends it with the start request). */
  consoleSize?: { rows: number; cols: number };
}

export interface CreateResult {
  /** Host pid of the container's pid 1 (stopped before execve until start()). */
  pid: number;
  /** Host pid of the berth-shim supervising it. */
  shimPid: number;
}

export interface StartResult {
  pid: number;
  startedAt: Date;
}

export interface ExitStatus {
  /** 0..255; 128+n when killed by signal n (as Docker reports). */
  exitCode: number;
  /** Signal number when the process died by a signal. */
  signal?: number;
  /** The cgroup's OOM killer fired during the container's life. */
  oomKilled: boolean;
  finishedAt: Date;
  /** Set when the process never ran (create/exec failure) or the shim died without recording a status. */
  error?: string;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/**
 * One attacher. Without a TTY, `output` carries Docker's 8-byte multiplexed frames
 * ([stream(1=stdout,2=stderr),0,0,0,size BE32] + payload) for the streams asked for; with a TTY it carries the
 * raw terminal bytes. So the API layer can pipe it unchanged into a hijacked attach connection.
 * Ending `stdin` (half-close) closes the container's stdin when ProcessSpec.stdinOnce is set.
 * `output` ends when the container's stdio closes (the process exited) or detach() is called.
 */
export interface AttachSession {
  stdin: Writable | undefined;
  output: Readable;
  detach(): void;
}

/** A running exec. `stdin`/`stdout`/`stderr` are the process's own streams (stdout only with a terminal). */
export interface ExecHandle {
  /** Host pid of the exec'd process once started. */
  pid: number;
  stdin: Writable;
  stdout: Readable;
  /** Undefined with a terminal (everything goes to stdout). */
  stderr: Readable | undefined;
  resize(size: { rows: number; cols: number }): Promise<void>;
  /** With a terminal: hang it up (its session gets SIGHUP, as when a terminal window closes). */
  hangup(): void;
  kill(signal: NodeJS.Signals | number): void;
  /** Resolves when the process exits and its output streams have ended. */
  exit: Promise<ExitStatus>;
}

export interface CpuStats {
  /** Nanoseconds of CPU used by the cgroup: total, in kernel, in user mode. */
  totalUsage: number;
  usageInKernelmode: number;
  usageInUsermode: number;
  /** Nanoseconds per CPU (v1 cpuacct.usage_percpu; empty on v2). */
  perCpuUsage: number[];
  /** Host CPU time in nanoseconds (/proc/stat total × 1e9/USER_HZ), as dockerd's system_cpu_usage. */
  systemCpuUsage: number;
  onlineCpus: number;
  throttling: { periods: number; throttledPeriods: number; throttledTime: number };
}

export interface MemoryStats {
  usage: number;
  maxUsage?: number;
  /** The effective limit (host RAM when unlimited), as Docker's memory_stats.limit. */
  limit: number;
  failcnt?: number;
  /** memory.stat key/values as the kernel names them (v1: cache, rss, total_inactive_file...; v2: anon, file...). */
  stats: Record<string, number>;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Per-interface counters from the container's network namespace (/proc/<pid>/net/dev), as Docker's. */
export interface NetworkStats {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export interface RuntimeStats {
  read: Date;
  /** Interfaces other than lo; absent when the container shares the host's network namespace or is not running. */
  networks?: Record<string, NetworkStats>;
  cpu: CpuStats;
  memory: MemoryStats;
  pids: { current: number; limit?: number };
  blkio: { ioServiceBytesRecursive: BlkioEntry[]; ioServicedRecursive: BlkioEntry[] };
}

export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** What the runtime knows of one container from its state dir and the kernel (pid liveness). */
export interface RuntimeState {
  id: ContainerId;
  status: RuntimeStatus;
  pid: number;
  shimPid: number;
  /** Present once stopped. */
  exit?: ExitStatus;
  startedAt?: Date;
  annotations: Record<string, string>;
}

export interface ReconcileReport {
  /** Shims still supervising a live container: re-adopted (attach/wait/exec/kill keep working). */
  running: RuntimeState[];
  /** Containers that exited while berthd was away, with their recorded status. */
  exited: RuntimeState[];
  /** Runtime state, cgroups or mounts that belonged to no known container and were removed. */
  cleaned: string[];
}

export interface CgroupInfo {
  version: 1 | 2;
  /** Controllers usable for containers (e.g. no blkio weight on some kernels). */
  controllers: string[];
  warnings: string[];
}

export interface Runtime {
  readonly cgroups: CgroupInfo;

  /** Sets up namespaces, cgroup, mounts and the process up to just before execve; the shim then waits for
   *  start(). Throws RuntimeError (exitCode 127 not found, 126 not executable, 125 other). */
  create(spec: RuntimeSpec): Promise<CreateResult>;
  /** Releases the created process to execve. */
  start(id: ContainerId): Promise<StartResult>;
  /** Attach to stdio; several attachers may be attached at once. Works from create() until exit. */
  attach(id: ContainerId, opts: AttachOptions): Promise<AttachSession>;
  /** Resize the container's PTY (no-op without a terminal). */
  resize(id: ContainerId, size: { rows: number; cols: number }): Promise<void>;
  /** Run a process inside the running container. Throws RuntimeError (126/127/125) if it cannot start. */
  exec(id: ContainerId, process: ExecProcessSpec): Promise<ExecHandle>;
  /** Signal the container's pid 1 (or every process in the cgroup with `all`, used after a stop timeout). */
  kill(id: ContainerId, signal: NodeJS.Signals | number, opts?: { all?: boolean }): Promise<void>;
  /** Resolves when the container has exited (immediately if it already has); also after a berthd restart. */
  wait(id: ContainerId): Promise<ExitStatus>;
  pause(id: ContainerId): Promise<void>;
  resume(id: ContainerId): Promise<void>;
  update(id: ContainerId, resources: CgroupResources): Promise<void>;
  stats(id: ContainerId): Promise<RuntimeStats>;
  /** Host pids of every process in the container's cgroup (for `docker top`, which then reads /proc). */
  top(id: ContainerId): Promise<number[]>;
  state(id: ContainerId): Promise<RuntimeState | undefined>;
  /** Kills what is left (SIGKILL to the cgroup), waits for the shim, removes the cgroup and state dir. */
  delete(id: ContainerId): Promise<void>;
  list(): Promise<RuntimeState[]>;
  /** On daemon start: re-adopt live shims, report exits, remove state/cgroups of ids not in `known`. */
  reconcile(known: ReadonlySet<ContainerId>): Promise<ReconcileReport>;
  /** On daemon shutdown, after containers were stopped and deleted: removes the per-daemon cgroup parent and
   *  state root when nothing is left in them (live containers keep both, for the next reconcile). */
  close(): Promise<void>;
}

/** Docker's exit-code convention travels with the error so the API layer can answer as dockerd. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    /** 125 (runtime/daemon), 126 (cannot invoke), 127 (not found). */
    readonly exitCode: 125 | 126 | 127 = 125,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export class NoSuchContainerError extends Error {
  constructor(readonly id: ContainerId) {
    super(`no such container in runtime: ${id}`);
    this.name = 'NoSuchContainerError';
  }
}

/** Options for constructing the runtime (see runtime/index.ts createRuntime). */
export interface RuntimeOptions {
  /** Where per-container state lives (short: unix socket paths must stay under 108 bytes). */
  stateRoot: string;
  /** Default cgroup parent for the daemon (--cgroup-parent), e.g. 'berth'. */
  cgroupParent: string;
}

/** Docker's defaults, exported so containers/ builds specs from the same lists the runtime tests use. */
export const DOCKER_DEFAULT_CAPS: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DOCKER_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DOCKER_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

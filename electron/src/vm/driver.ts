/**
 * The one seam between Berth and whatever runs berthd: a `VmDriver` decides *how* to boot (a VM, or no VM
 * at all); the manager, tunnel and CLI only see this interface. What only some drivers can do is an optional
 * capability (below `VmDriver`): a driver implements it, the manager detects it, nobody asks for a driver
 * by name (only factory.ts knows the drivers).
 */
import type { EngineState } from '@berth/common';

/** The host platforms Berth runs VMs on. */
export type HostPlatform = 'linux' | 'darwin' | 'win32';

export interface VmResources {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** Reports each long step once, as it starts ("Booting the VM (TCG)…"). */
export type Progress = (step: string) => void;

/** SSH into the guest: `berth shell`, graceful stop, and forwards the VM's own network cannot make. */
export interface SshEndpoint {
  kind: 'ssh';
  host: string;
  port: number;
  user: string;
  privateKey: string;
  knownHost: string;
}

/** berthd's TCP listener, published on the host's loopback; each connection first sends the token in `tokenFile`. */
export interface EngineTcp {
  port: number;
  tokenFile: string;
}

/** How the host reaches the engine inside: a VM's published TCP port (plus SSH), or a unix socket already on the host. */
export type GuestEndpoint =
  { kind: 'vm'; ssh: SshEndpoint; engine: EngineTcp } | { kind: 'unix'; socketPath: string };

/** What `berth shell` runs: an SSH session into the guest, or a plain local command. */
export type ShellTarget =
  { kind: 'ssh'; endpoint: SshEndpoint } | { kind: 'command'; cmd: string; args: string[] };

export interface DriverStatus {
  state: EngineState;
  pid?: number;
  /** The accelerator in use (kvm, hvf, whpx, tcg) when the driver knows it. */
  accel?: string;
  /** Something the person should know (e.g. running without hardware acceleration). */
  warning?: string;
  message?: string;
}

export interface LogFiles {
  /** The guest's serial console, when there is one. */
  console?: string;
  /** berthd's own log, when the host can read it directly. */
  engine?: string;
}

export interface VmDriver {
  /** The name the factory knows it by (vm-config.json's `driver`). */
  readonly kind: string;
  /** Whether berthd runs in a VM (so the VM sizes apply), rather than on the host itself. */
  readonly runsVm: boolean;
  /**
   * Who serves the host socket: the driver (its own berthd, or its VM tool's socket forward), or Berth's host
   * tunnel (when `forward()` gives a `vm` endpoint), whose socket file is removed when the VM stops.
   */
  readonly hostSocket: 'driver' | 'tunnel';
  /** Prepares everything start needs (disk, keys, config); idempotent. */
  create(progress: Progress): Promise<void>;
  /** Boots and returns once the guest's engine is up (before host forwarding). */
  start(progress: Progress): Promise<DriverStatus>;
  /** Graceful: containers and guest stop; after `timeoutMs` the VM is stopped hard. Idempotent. */
  stop(timeoutMs: number, progress: Progress): Promise<void>;
  status(): Promise<DriverStatus>;
  shell(): Promise<ShellTarget>;
  /** Where the host connects to reach the engine socket inside. */
  forward(): Promise<GuestEndpoint>;
  /** Deletes the VM and its data disk (must be stopped). */
  reset(): Promise<void>;
  /** Gives unused disk space back to the host; returns a one-line summary. */
  compact(progress: Progress): Promise<string>;
  logFiles(): LogFiles;
}

// ---- Optional capabilities ----

/** One forward from the host's loopback into the guest, made by the VM's own network (no SSH in the path). */
export interface HostForward {
  proto: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestPort: number;
}

/** Runtime host port forwards through the VM's own network. */
export interface PortControl {
  /** Names the mechanism in log lines ("<name> is not available; published ports go over SSH"). */
  readonly name: string;
  list(): Promise<HostForward[]>;
  /** Throws `PortInUseError` when the host port is taken. */
  add(f: HostForward): Promise<void>;
  /** false when there was no such forward. */
  remove(f: Pick<HostForward, 'proto' | 'hostAddr' | 'hostPort'>): Promise<boolean>;
}

/** A host port someone else holds. */
export class PortInUseError extends Error {}

/**
 * What the tunnel process needs to open a driver's `PortControl` there (it runs apart from the driver):
 * the driver's kind and its own JSON parameters, turned back into a `PortControl` by factory.ts.
 */
export interface PortControlSpec {
  driver: string;
  params: unknown;
}

/** A driver whose VM network can forward host ports at runtime. */
export interface OffersPortControl {
  /** The running VM's port control; undefined when it is not running. */
  portControl(): Promise<PortControlSpec | undefined>;
}

/** A driver that keeps the engine's data in a disk image on the host. */
export interface ReportsDiskUsage {
  /** Bytes the data disk occupies on the host; undefined before it exists. */
  diskBytes(): Promise<number | undefined>;
}

export function offersPortControl(d: VmDriver): d is VmDriver & OffersPortControl {
  return typeof (d as Partial<OffersPortControl>).portControl === 'function';
}

export function reportsDiskUsage(d: VmDriver): d is VmDriver & ReportsDiskUsage {
  return typeof (d as Partial<ReportsDiskUsage>).diskBytes === 'function';
}

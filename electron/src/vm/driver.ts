/**
 * The one seam between Berth and whatever runs berthd: a `VmDriver` decides *how* to boot (QEMU, Lima, or
 * no VM at all); the manager, tunnel and CLI only see this interface.
 */
import type { EngineState } from '@berth/common';
import type { QmpAddress } from './qemu/qmp.js';

export type DriverKind = 'qemu' | 'lima' | 'native';
export const DRIVER_KINDS: readonly DriverKind[] = ['qemu', 'lima', 'native'];

export interface VmResources {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** Reports each long step once, as it starts ("Booting the VM (TCG)…"). */
export type Progress = (step: string) => void;

/** SSH into the guest: `berth shell`, graceful stop, and forwards QEMU's user network cannot make. */
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

/** Runtime port forwards through QEMU's user-mode network (QMP hostfwd_add/remove) to the guest's `guestIp`. */
export interface PortControl {
  qmp: QmpAddress;
  netdev: string;
  guestIp: string;
}

/** How the host reaches the engine inside: a VM's published TCP port (plus SSH), or a unix socket already on the host. */
export type GuestEndpoint =
  | { kind: 'vm'; ssh: SshEndpoint; engine: EngineTcp; ports?: PortControl }
  | { kind: 'unix'; socketPath: string };

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
  readonly kind: DriverKind;
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

/**
 * Where berth-kube runs, behind one interface: on the host beside native berthd (native.ts), or inside the VM
 * beside the guest's berthd (guest.ts). Either way the host keeps an admin kubeconfig at kubeFiles().kubeconfig
 * whose server is the API as the host reaches it (127.0.0.1:PORT), so status, node checks and the merge into
 * the user's kubeconfig are the same code for both.
 */
import type { KubeProgress } from '@berth/common';
import { loadVmConfig } from '../vm/config.js';
import type { BerthPaths } from '../vm/paths.js';
import { tailFile } from '../vm/process.js';
import { endKubeProcess, kubeFiles, kubePid, removePodContainers, startNativeKube } from './native.js';

export interface KubeRunOptions {
  /** The API server's port on the host's 127.0.0.1. */
  port: number;
  podCIDR?: string;
}

export interface KubeRunner {
  /** The engine's driver (native, qemu, lima). */
  readonly driver: string;
  /** berth-kube's pid where it runs; undefined when it does not run. */
  pid(): Promise<number | undefined>;
  /** Starts it; resolves once the API server answers /readyz through the host's kubeconfig. */
  start(o: KubeRunOptions, progress: KubeProgress): Promise<void>;
  /** Ends the process (SIGTERM, SIGKILL after the grace); pods' containers stay. */
  stopProcess(graceMs: number): Promise<void>;
  /** Removes every pod container and the pod network through the engine; returns how many containers. */
  removePods(): Promise<number>;
  /** Deletes the cluster's state (objects, certificates) where it lives; the process must be stopped. */
  wipe(): Promise<void>;
  /** The end of berth-kube's log. */
  logTail(lines: number): Promise<string>;
}

class NativeRunner implements KubeRunner {
  readonly driver = 'native';
  constructor(private readonly p: BerthPaths) {}
  async pid() {
    return kubePid(this.p);
  }
  async start(o: KubeRunOptions) {
    await startNativeKube(this.p, o);
  }
  stopProcess(graceMs: number) {
    return endKubeProcess(this.p, graceMs);
  }
  removePods() {
    return removePodContainers(this.p.socket);
  }
  async wipe() {
    const { rm } = await import('node:fs/promises');
    await rm(kubeFiles(this.p).dir, { recursive: true, force: true });
  }
  logTail(lines: number) {
    return tailFile(kubeFiles(this.p).log, lines);
  }
}

/** The runner for the engine's driver (vm-config.json). */
export async function openRunner(p: BerthPaths): Promise<KubeRunner> {
  const { driver } = await loadVmConfig(p);
  if (driver === 'native') return new NativeRunner(p);
  const { openGuestRunner } = await import('./guest.js');
  return openGuestRunner(p, driver);
}

/** berth-kube inside the VM (qemu, lima): not wired yet. */
import type { BerthPaths } from '../vm/paths.js';
import type { KubeRunner } from './runner.js';

export function openGuestRunner(_p: BerthPaths, driver: string): Promise<KubeRunner> {
  return Promise.reject(
    new Error(
      `berth kube runs with the native driver for now (this engine uses "${driver}"): \`berth start --driver native\``,
    ),
  );
}

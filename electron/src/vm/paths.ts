/** Where Berth keeps its per-user state on the host ($BERTH_HOME, default ~/.berth). One place, every module. */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GuestArch } from './image/manifest.js';

export interface BerthPaths {
  home: string;
  /** VM/engine choices and sizes (settings.json, the app's schema: `vm.cpus` etc.). */
  settings: string;
  /** The engine socket on the host that docker uses (forwarded from the guest, or native berthd's own). */
  socket: string;
  run: string;
  tunnelPid: string;
  tunnelLog: string;
  keys: { dir: string; private: string; public: string; engineToken: string };
  vm: {
    dir: string;
    state: string;
    disk: string;
    serialLog: string;
    pid: string;
    qmp: string;
    knownHost: string;
    accel: string;
    lima: string;
  };
  native: { dir: string; dataRoot: string; pid: string; log: string };
}

export function berthPaths(home = process.env.BERTH_HOME ?? path.join(os.homedir(), '.berth')): BerthPaths {
  const vm = path.join(home, 'vm');
  const run = path.join(home, 'run');
  const native = path.join(home, 'native');
  return {
    home,
    settings: path.join(home, 'settings.json'),
    socket: path.join(run, 'docker.sock'),
    run,
    tunnelPid: path.join(run, 'tunnel.pid'),
    tunnelLog: path.join(run, 'tunnel.log'),
    keys: {
      dir: path.join(home, 'keys'),
      private: path.join(home, 'keys', 'id_ed25519'),
      public: path.join(home, 'keys', 'id_ed25519.pub'),
      engineToken: path.join(home, 'keys', 'engine-token'),
    },
    vm: {
      dir: vm,
      state: path.join(vm, 'state.json'),
      disk: path.join(vm, 'data.qcow2'),
      serialLog: path.join(vm, 'serial.log'),
      pid: path.join(vm, 'qemu.pid'),
      qmp: path.join(vm, 'qmp.sock'),
      knownHost: path.join(vm, 'known_host'),
      accel: path.join(vm, 'accel.json'),
      lima: path.join(vm, 'lima.yaml'),
    },
    native: {
      dir: native,
      dataRoot: path.join(native, 'data'),
      pid: path.join(native, 'berthd.pid'),
      log: path.join(native, 'berthd.log'),
    },
  };
}

/** The source tree this module runs from (electron/dist/src/vm → repo root). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The built guest image: $BERTH_IMAGE_DIR, else vm-image/out/<arch> of this checkout. */
export function imageDir(arch: GuestArch, env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_IMAGE_DIR ?? path.join(REPO_ROOT, 'vm-image', 'out', arch);
}

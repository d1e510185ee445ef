/** Where Berth keeps its per-user state on the host ($BERTH_HOME, default ~/.berth). One place, every module. */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GuestArch } from '@berth/vm-image/manifest';

export interface BerthPaths {
  home: string;
  /** VM/engine choices and sizes (settings.json, the app's schema: `vm.cpus` etc.). */
  settings: string;
  /** The engine socket on the host that docker uses (forwarded from the guest, or native berthd's own). */
  socket: string;
  run: string;
  /** One structured log per topic (log/topics.ts); the tunnel's is `tunnelLog`. */
  logs: string;
  tunnelPid: string;
  tunnelLog: string;
  keys: { dir: string; private: string; public: string; engineToken: string };
  /** The VM drivers' directory (each driver names its own files in it: see its folder). */
  vm: { dir: string };
}

export function berthPaths(home = process.env.BERTH_HOME ?? path.join(os.homedir(), '.berth')): BerthPaths {
  const vm = path.join(home, 'vm');
  const run = path.join(home, 'run');
  return {
    home,
    settings: path.join(home, 'settings.json'),
    socket: path.join(run, 'docker.sock'),
    run,
    logs: path.join(home, 'logs'),
    tunnelPid: path.join(run, 'tunnel.pid'),
    tunnelLog: path.join(home, 'logs', 'tunnel.log'),
    keys: {
      dir: path.join(home, 'keys'),
      private: path.join(home, 'keys', 'id_ed25519'),
      public: path.join(home, 'keys', 'id_ed25519.pub'),
      engineToken: path.join(home, 'keys', 'engine-token'),
    },
    vm: { dir: vm },
  };
}

/** The source tree this module runs from (electron/dist/src/vm → repo root). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The built guest image: $BERTH_IMAGE_DIR, else vm-image/out/<arch> of this checkout. */
export function imageDir(arch: GuestArch, env: NodeJS.ProcessEnv = process.env): string {
  return env.BERTH_IMAGE_DIR ?? path.join(REPO_ROOT, 'vm-image', 'out', arch);
}

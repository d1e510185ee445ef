/** Runs `bin/berth` against a private BERTH_HOME and docker config, so tests never touch the user's own. */
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './exec.js';
import { BIN } from './paths.js';

export interface BerthHome {
  home: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  berth(args: string[], timeoutMs?: number): Promise<RunResult>;
  docker(args: string[], timeoutMs?: number): Promise<RunResult>;
  writeConfig(name: 'vm-config.json' | 'settings.json', value: unknown): Promise<void>;
  remove(): Promise<void>;
}

export function berthHome(prefix = 'berth-home-'): BerthHome {
  const home = mkdtempSync(path.join(os.tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_HOME: home,
    DOCKER_CONFIG: path.join(home, 'docker-config'),
  };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return {
    home,
    socket: path.join(home, 'run', 'docker.sock'),
    env,
    berth: (args, timeoutMs = 240_000) => run(path.join(BIN, 'berth'), args, { env, timeoutMs }),
    docker: (args, timeoutMs = 60_000) => run('docker', args, { env, timeoutMs }),
    writeConfig: (name, value) => fsp.writeFile(path.join(home, name), JSON.stringify(value)),
    remove: () => fsp.rm(home, { recursive: true, force: true }),
  };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

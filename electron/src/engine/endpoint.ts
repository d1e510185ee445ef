/** Where the engine listens, as dockerd's `-H`/DOCKER_HOST: unix:///path or tcp://127.0.0.1:port. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type EngineEndpoint =
  { kind: 'unix'; socketPath: string } | { kind: 'tcp'; host: string; port: number };

export function parseEngineHost(host: string): EngineEndpoint {
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length);
    if (!p.startsWith('/')) throw new Error(`engine host ${host}: the socket path must be absolute`);
    return { kind: 'unix', socketPath: p };
  }
  if (host.startsWith('/')) return { kind: 'unix', socketPath: host };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
  if (m) return { kind: 'tcp', host: m[1], port: Number(m[2]) };
  throw new Error(`engine host ${host}: expected unix:///path/to/socket or tcp://host:port`);
}

export function formatEndpoint(ep: EngineEndpoint): string {
  return ep.kind === 'unix' ? `unix://${ep.socketPath}` : `tcp://${ep.host}:${ep.port}`;
}

/**
 * The engine the app talks to by default: $BERTH_HOST or $DOCKER_HOST when set; else Berth's own socket,
 * $BERTH_HOME/run/docker.sock (default ~/.berth/run/docker.sock; `berth start` puts the engine there). Only
 * when BERTH_HOME is not set and that socket does not exist does it fall back to a native berthd's
 * /run/berth/docker.sock (`npm start` on a Linux host): with BERTH_HOME set, that may be another engine's.
 */
export function defaultEngineHost(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (env.BERTH_HOST) return env.BERTH_HOST;
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  const own = path.join(env.BERTH_HOME || path.join(home, '.berth'), 'run', 'docker.sock');
  if (env.BERTH_HOME || existsSync(own)) return `unix://${own}`;
  return 'unix:///run/berth/docker.sock';
}

/** Starts berthd: data root and lock, the API on each host, then the engine's services (services.ts); clean shutdown. */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import nodeModule from 'node:module';
import type http from 'node:http';
import path from 'node:path';
import { Router } from './api/router.js';
import { createApiServer } from './api/server.js';
import { readTokenFile, requireToken } from './api/token-gate.js';
import type { ImageService } from './images/index.js';
import { registerPingRoutes } from './api/routes/system.js';
import type { DaemonConfig } from './config.js';
import type { Engine } from './engine.js';
import { EventBus } from './events/bus.js';
import { createLogger, setLogLevel } from './log.js';
import { acquireLock } from './util/lock.js';
import { readJson, writeJsonAtomic } from './util/fs-atomic.js';
import { VERSION } from './version.js';

export interface RunningDaemon {
  engine: Engine;
  images: ImageService;
  close(): Promise<void>;
}

async function engineId(dataRoot: string): Promise<string> {
  const file = path.join(dataRoot, 'engine-id.json');
  const saved = await readJson<{ id?: string }>(file, {});
  if (saved.id) return saved.id;
  const id = randomUUID();
  await writeJsonAtomic(file, { id });
  return id;
}

async function listenUnix(server: http.Server, socketPath: string): Promise<void> {
  await fsp.mkdir(path.dirname(socketPath), { recursive: true });
  // A socket left by a crashed daemon: the data-root lock already proved nobody owns it.
  await fsp.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fsp.chmod(socketPath, 0o660);
}

async function listenTcp(server: http.Server, hostPort: string): Promise<void> {
  const u = new URL(hostPort);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(u.port || 2375), u.hostname || '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startDaemon(config: DaemonConfig): Promise<RunningDaemon> {
  setLogLevel(config.logLevel);
  const log = createLogger({ component: 'berthd' });
  await fsp.mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
  const releaseLock = await acquireLock(config.dataRoot);
  const servers: http.Server[] = [];
  let loaded!: { resolve(): void; reject(err: Error): void };
  const ready = new Promise<void>((resolve, reject) => (loaded = { resolve, reject }));
  try {
    const engine: Engine = {
      id: await engineId(config.dataRoot),
      config,
      log,
      events: new EventBus(),
      startedAt: new Date(),
      version: VERSION,
    };
    // The sockets answer first (/_ping, /version) while state loads and the kernel is reconciled: in a VM
    // under emulation that work takes seconds. Every other request waits for `ready` (api/server.ts).
    const router = new Router();
    registerPingRoutes(router, engine);
    // Before the sockets answer: whoever sees /_ping succeed may read the pidfile.
    if (config.pidfile) await fsp.writeFile(config.pidfile, String(process.pid));
    const hostToken = config.hostTokenFile ? readTokenFile(config.hostTokenFile) : undefined;
    for (const host of config.hosts) {
      const server = createApiServer(
        router,
        log.child({ component: 'api' }),
        VERSION,
        ready,
        config.headerTimeoutSeconds * 1000,
      );
      servers.push(server);
      if (hostToken && host.startsWith('tcp://'))
        requireToken(server, hostToken, log.child({ component: 'api' }));
      if (host.startsWith('unix://')) await listenUnix(server, host.slice('unix://'.length));
      else await listenTcp(server, host);
      log.info('API listening', { host, startupMs: Math.round(process.uptime() * 1000) });
    }

    // A dynamic import: see services.ts.
    const { startServices } = await import('./services.js');
    const services = await startServices(engine, router);
    loaded.resolve();
    log.info('engine ready', { startupMs: Math.round(process.uptime() * 1000) });
    // Node writes its compile cache (NODE_COMPILE_CACHE, set by the guest's berth-init) only at a clean exit,
    // which a VM that is powered off or killed never reaches: written now, the next start skips compiling.
    (nodeModule as { flushCompileCache?: () => void }).flushCompileCache?.();
    engine.events.publish('daemon', 'start', engine.id, { name: 'berthd' });

    return {
      engine,
      images: services.images,
      async close() {
        log.info('shutting down');
        // No live-restore (dockerd's default): running containers are stopped; restart policies resume them.
        await services.containers.close();
        for (const s of servers) {
          s.closeAllConnections();
          await new Promise<void>((resolve) => s.close(() => resolve()));
        }
        for (const host of config.hosts) {
          if (host.startsWith('unix://')) await fsp.rm(host.slice(7), { force: true });
        }
        await services.networking.close();
        if (config.pidfile) await fsp.rm(config.pidfile, { force: true });
        await releaseLock();
      },
    };
  } catch (err) {
    loaded.reject(err as Error);
    for (const s of servers) s.close();
    if (config.pidfile) await fsp.rm(config.pidfile, { force: true });
    await releaseLock();
    throw err;
  }
}

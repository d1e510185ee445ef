/** System endpoints: /_ping, /version, /info, /events, /system/df. */
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { API_VERSION, MIN_API_VERSION, type SystemInfo, type SystemVersion } from '@berth/common';
import type { Engine, SystemProviders } from '../../engine.js';
import { goArch } from '../../platform.js';
import { EVENT_FILTER_KEYS, eventMatches, parseTimestamp } from '../../events/bus.js';
import { badParameter } from '../errors.js';
import { checkFilters, openJsonStream, parseFilters, sendJson } from '../http.js';
import type { Router } from '../router.js';

function osRelease(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

/** cgroup v2 when /sys/fs/cgroup itself is a cgroup2 mount (unified); hybrid and v1 layouts count as 1. */
export function cgroupVersion(): '1' | '2' {
  try {
    return statfsSync('/sys/fs/cgroup').type === 0x63677270 ? '2' : '1';
  } catch {
    return '1';
  }
}

/** /_ping and /version: they need no engine state, so they are served while the rest still loads. */
export function registerPingRoutes(r: Router, engine: Engine): void {
  const ping = (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res.setHeader('Pragma', 'no-cache');
    ctx.res.setHeader('Builder-Version', '1');
    ctx.res.setHeader('Swarm', 'inactive');
    if (ctx.req.method === 'HEAD') {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0' });
      ctx.res.end();
      return;
    }
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' });
    ctx.res.end('OK');
  };
  r.get('/_ping', ping).head('/_ping', ping);

  r.get('/version', (ctx) => {
    const v: SystemVersion = {
      Platform: { Name: 'Berth Engine' },
      Components: [
        {
          Name: 'Engine',
          Version: engine.version,
          Details: {
            ApiVersion: API_VERSION,
            MinAPIVersion: MIN_API_VERSION,
            Os: 'linux',
            Arch: goArch(),
            KernelVersion: os.release(),
            NodeVersion: process.version,
          },
        },
      ],
      Version: engine.version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.version}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      BuildTime: engine.startedAt.toISOString(),
    };
    sendJson(ctx.res, 200, v);
  });
}

/** /info, /events, /system/df (see registerPingRoutes for the rest). */
export function registerSystemRoutes(r: Router, engine: Engine, providers: SystemProviders[] = []): void {
  r.get('/info', async (ctx) => {
    const cfg = engine.config;
    const mirrors = cfg.registryMirrors.map((m) => (m.endsWith('/') ? m : m + '/'));
    const info: SystemInfo = {
      ID: engine.id,
      Containers: 0,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: 0,
      Driver: 'overlay2',
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
      ],
      DockerRootDir: cfg.dataRoot,
      Plugins: {
        Volume: ['local'],
        Network: ['bridge', 'host', 'null'],
        Authorization: null,
        Log: ['json-file'],
      },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      OomKillDisable: false,
      IPv4Forwarding: true,
      BridgeNfIptables: false,
      BridgeNfIp6tables: false,
      Debug: cfg.logLevel === 'debug',
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      NEventsListener: engine.events.listenerCount,
      KernelVersion: os.release(),
      OperatingSystem: osRelease(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.machine(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: [],
        AllowNondistributableArtifactsHostnames: [],
        InsecureRegistryCIDRs: ['127.0.0.0/8'],
        IndexConfigs: {
          'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true },
          ...Object.fromEntries(
            cfg.insecureRegistries.map((h) => [h, { Name: h, Mirrors: [], Secure: false, Official: false }]),
          ),
        },
        Mirrors: mirrors,
      },
      GenericResources: null,
      HttpProxy: process.env.HTTP_PROXY ?? '',
      HttpsProxy: process.env.HTTPS_PROXY ?? '',
      NoProxy: process.env.NO_PROXY ?? '',
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: engine.version,
      Runtimes: { berth: { path: 'berth-init' } },
      DefaultRuntime: 'berth',
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: 'berth-init',
      ContainerdCommit: { ID: '', Expected: '' },
      RuncCommit: { ID: '', Expected: '' },
      InitCommit: { ID: '', Expected: '' },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      Warnings: null,
    };
    for (const p of providers) Object.assign(info, await p.info());
    sendJson(ctx.res, 200, info);
  });

  r.get('/system/df', async (ctx) => {
    const out: Record<string, unknown> = {
      LayersSize: 0,
      Images: [],
      Containers: [],
      Volumes: [],
      BuildCache: [],
    };
    for (const p of providers) Object.assign(out, await p.df(true));
    sendJson(ctx.res, 200, out);
  });

  r.get('/events', (ctx) => {
    const filters = parseFilters(ctx.query);
    checkFilters(filters, EVENT_FILTER_KEYS);
    const sinceRaw = ctx.query.get('since');
    const untilRaw = ctx.query.get('until');
    const sinceNs = sinceRaw ? parseTimestamp(sinceRaw) : undefined;
    const untilNs = untilRaw ? parseTimestamp(untilRaw) : undefined;
    if (sinceRaw && sinceNs === undefined) throw badParameter(`invalid value for since: ${sinceRaw}`);
    if (untilRaw && untilNs === undefined) throw badParameter(`invalid value for until: ${untilRaw}`);
    if (sinceNs !== undefined && untilNs !== undefined && untilNs < sinceNs)
      throw badParameter('`since` time must be before `until` time');
    const stream = openJsonStream(ctx.req, ctx.res);
    if (sinceNs !== undefined) {
      for (const e of engine.events.since(sinceNs, untilNs)) if (eventMatches(e, filters)) stream.write(e);
    }
    const nowNs = Date.now() * 1e6;
    if (untilNs !== undefined && untilNs <= nowNs) {
      stream.end();
      return;
    }
    const unsubscribe = engine.events.subscribe((e) => {
      if (untilNs !== undefined && e.timeNano > untilNs) return;
      if (eventMatches(e, filters)) stream.write(e);
    });
    let timer: NodeJS.Timeout | undefined;
    if (untilNs !== undefined) {
      timer = setTimeout(
        () => {
          unsubscribe();
          stream.end();
        },
        Math.max(0, (untilNs - nowNs) / 1e6),
      );
    }
    stream.signal.addEventListener('abort', () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    });
  });
}

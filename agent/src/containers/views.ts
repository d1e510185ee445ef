/** Container records as the Engine API shows them: inspect (dockerd's full shape) and list summaries. */
import type { ContainerInspect, ContainerSummary, MountPoint, NetworkSettings, Port } from '@berth/common';
import type { ContainerRecord, MountRecord } from './record.js';
import { humanStatus, Status } from './state.js';
import type { ContainerDir } from './container-dir.js';
import { keepsLog } from './spec.js';

function mountPoint(m: MountRecord): MountPoint {
  if (m.type === 'volume')
    return {
      Type: 'volume',
      Name: m.name!,
      Source: m.source,
      Destination: m.destination,
      Driver: 'local',
      Mode: m.mode,
      RW: m.rw,
      Propagation: '',
    };
  return {
    Type: m.type,
    Source: m.source,
    Destination: m.destination,
    Mode: m.mode,
    RW: m.rw,
    Propagation: m.propagation,
  };
}

export function inspectView(
  rec: ContainerRecord,
  dir: ContainerDir,
  layerDirs: string[],
  execIds: string[],
  net: NetworkSettings,
  sizes?: { rw: number; rootfs: number },
): ContainerInspect {
  const s = rec.state;
  const etc = dir.etc;
  const started = s.hasBeenStarted;
  return {
    Id: rec.id,
    Created: rec.created,
    Path: rec.path,
    Args: rec.args,
    State: {
      Status: s.status,
      Running: s.status === Status.Running || s.status === Status.Paused,
      Paused: s.status === Status.Paused,
      Restarting: s.status === Status.Restarting,
      OOMKilled: s.oomKilled,
      Dead: s.status === Status.Dead,
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
      ...(rec.health ? { Health: rec.health } : {}),
    },
    Image: rec.image,
    ResolvConfPath: started ? etc.resolvConf : '',
    HostnamePath: started ? etc.hostname : '',
    HostsPath: started ? etc.hosts : '',
    LogPath: keepsLog(rec.hostConfig) ? dir.log : '',
    Name: rec.name,
    RestartCount: rec.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: 'bridge',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      ConsoleSize: [0, 0],
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: 'private',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: 'private',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 67108864,
      Runtime: 'runc',
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: null,
      PidsLimit: null,
      Ulimits: null,
      MaskedPaths: null,
      ReadonlyPaths: null,
      ...rec.hostConfig,
    },
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: layerDirs.join(':'),
        MergedDir: dir.merged,
        UpperDir: dir.upper,
        WorkDir: dir.work,
      },
    },
    ...(sizes ? { SizeRw: sizes.rw, SizeRootFs: sizes.rootfs } : {}),
    Mounts: rec.mounts.filter((m) => m.type !== 'tmpfs').map(mountPoint),
    Config: rec.config,
    NetworkSettings: net,
  };
}

export function summaryView(
  rec: ContainerRecord,
  health: string | undefined,
  net: NetworkSettings,
  ports: Port[],
  networkMode: string,
  sizes?: { rw: number; rootfs: number },
): ContainerSummary {
  return {
    Id: rec.id,
    Names: [rec.name],
    Image: rec.config.Image ?? rec.image,
    ImageID: rec.image,
    Command: [rec.path, ...rec.args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' '),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: ports,
    ...(sizes ? { SizeRw: sizes.rw, SizeRootFs: sizes.rootfs } : {}),
    Labels: rec.config.Labels ?? {},
    State: rec.state.status,
    Status: humanStatus(rec.state, Date.now(), health),
    HostConfig: { NetworkMode: networkMode },
    NetworkSettings: { Networks: net.Networks },
    Mounts: rec.mounts.filter((m) => m.type !== 'tmpfs').map(mountPoint),
  };
}

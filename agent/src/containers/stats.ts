/** Runtime cgroup stats → dockerd's stats JSON (what `docker stats` computes CPU % and MEM USAGE from). */
import type { RuntimeStats } from '../runtime/types.js';

export interface DockerStats {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, unknown>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuJson;
  precpu_stats: CpuJson | Record<string, unknown>;
  memory_stats: Record<string, unknown>;
  name: string;
  id: string;
  networks?: Record<string, Record<string, number>>;
}

interface CpuJson {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage: number;
  online_cpus: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuJson(s: RuntimeStats): CpuJson {
  return {
    cpu_usage: {
      total_usage: s.cpu.totalUsage,
      ...(s.cpu.perCpuUsage.length ? { percpu_usage: s.cpu.perCpuUsage } : {}),
      usage_in_kernelmode: s.cpu.usageInKernelmode,
      usage_in_usermode: s.cpu.usageInUsermode,
    },
    system_cpu_usage: s.cpu.systemCpuUsage,
    online_cpus: s.cpu.onlineCpus,
    throttling_data: {
      periods: s.cpu.throttling.periods,
      throttled_periods: s.cpu.throttling.throttledPeriods,
      throttled_time: s.cpu.throttling.throttledTime,
    },
  };
}

const blk = (e: RuntimeStats['blkio']['ioServiceBytesRecursive']) =>
  e.map((x) => ({ major: x.major, minor: x.minor, op: x.op, value: x.value }));

export function dockerStats(
  id: string,
  name: string,
  cur: RuntimeStats,
  prev: RuntimeStats | undefined,
): DockerStats {
  return {
    read: cur.read.toISOString(),
    preread: prev ? prev.read.toISOString() : ZERO_TIME,
    pids_stats: { current: cur.pids.current, ...(cur.pids.limit ? { limit: cur.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: blk(cur.blkio.ioServiceBytesRecursive),
      io_serviced_recursive: blk(cur.blkio.ioServicedRecursive),
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuJson(cur),
    precpu_stats: prev
      ? cpuJson(prev)
      : {
          cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
          throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
        },
    memory_stats: {
      usage: cur.memory.usage,
      ...(cur.memory.maxUsage !== undefined ? { max_usage: cur.memory.maxUsage } : {}),
      stats: cur.memory.stats,
      ...(cur.memory.failcnt !== undefined ? { failcnt: cur.memory.failcnt } : {}),
      limit: cur.memory.limit,
    },
    name,
    id,
    // Loopback only until the network domain lands: no eth0 counters to report.
    networks: {},
  };
}

/** Empty stats for a stopped container (dockerd answers the same shape with zeros). */
export function emptyStats(id: string, name: string): Record<string, unknown> {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    precpu_stats: {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    memory_stats: {},
    name,
    id,
  };
}

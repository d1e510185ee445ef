/** Numbers from /containers/{id}/stats samples, computed as the docker CLI does. */
import type { ContainerStats } from '../api/stats-types.js';

export function cpuPercent(s: ContainerStats): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const sysDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || 1;
  if (cpuDelta <= 0 || sysDelta <= 0) return 0;
  return (cpuDelta / sysDelta) * cpus * 100;
}

/** Memory in use, without the page cache (cgroup v2 `inactive_file`, v1 `total_inactive_file`). */
export function memoryUsage(s: ContainerStats): number {
  const usage = s.memory_stats.usage ?? 0;
  const st = s.memory_stats.stats ?? {};
  const cache = st.inactive_file ?? st.total_inactive_file ?? 0;
  return Math.max(usage - (cache < usage ? cache : 0), 0);
}

export function networkBytes(s: ContainerStats): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  return { rx, tx };
}

export function blockBytes(s: ContainerStats): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    else if (op === 'write') write += e.value;
  }
  return { read, write };
}

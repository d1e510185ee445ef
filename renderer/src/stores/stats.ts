/** Live CPU and memory for running containers (one stats stream each, capped), for the table columns. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { engine } from '../api/index.js';
import type { Stream } from '../api/engine-client.js';
import { cpuPercent, memoryUsage } from './stats-math.js';

export interface Usage {
  cpu: number;
  mem: number;
  limit: number;
}

/** More streams than this cost more than the columns are worth; the details tab still has full stats. */
export const MAX_STREAMS = 24;

export const useStatsStore = defineStore('stats', () => {
  const usage = ref<Record<string, Usage>>({});
  const open = new Map<string, Stream>();

  /** Keeps streams open for exactly these running containers (up to MAX_STREAMS). */
  function follow(ids: string[]): void {
    const want = new Set(ids.slice(0, MAX_STREAMS));
    for (const [id, s] of open) {
      if (!want.has(id)) {
        s.close();
        open.delete(id);
        const rest = { ...usage.value };
        delete rest[id];
        usage.value = rest;
      }
    }
    for (const id of want) {
      if (open.has(id)) continue;
      const s = engine().stats(id, (sample) => {
        usage.value = {
          ...usage.value,
          [id]: { cpu: cpuPercent(sample), mem: memoryUsage(sample), limit: sample.memory_stats.limit ?? 0 },
        };
      });
      open.set(id, s);
      s.done.catch(() => undefined).finally(() => open.get(id) === s && open.delete(id));
    }
  }

  function stopAll(): void {
    follow([]);
  }

  return { usage, follow, stopAll };
});

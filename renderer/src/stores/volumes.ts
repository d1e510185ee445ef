/** Volumes: list with sizes (from /system/df) and users (containers mounting them), create, remove. */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ContainerSummary, EventMessage, Volume } from '@berth/common';
import { engine } from '../api/index.js';
import { containerName, useContainersStore } from './containers.js';

/** Which containers mount each named volume. */
export function volumeUsers(containers: ContainerSummary[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const c of containers) for (const mt of c.Mounts ?? []) if (mt.Type === 'volume' && mt.Name) m.set(mt.Name, [...(m.get(mt.Name) ?? []), containerName(c)]);
  return m;
}

export const useVolumesStore = defineStore('volumes', () => {
  const items = shallowRef<Volume[]>([]);
  const sizes = ref<Record<string, number>>({});
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const containers = useContainersStore();
  const users = computed(() => volumeUsers(containers.items));

  async function load(): Promise<void> {
    try {
      const r = await engine().listVolumes();
      items.value = (r.Volumes ?? []).slice().sort((a, b) => a.Name.localeCompare(b.Name));
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
    // Sizes are a nicety: an engine without /system/df volume usage still lists volumes.
    try {
      const df = await engine().df('volume');
      sizes.value = Object.fromEntries((df.Volumes ?? []).filter((v) => v.UsageData && v.UsageData.Size >= 0).map((v) => [v.Name, v.UsageData!.Size]));
    } catch {
      sizes.value = {};
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  function onEvent(e: EventMessage): void {
    if (e.Type !== 'volume') return;
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 60);
  }

  async function create(name: string): Promise<Volume> {
    const v = await engine().createVolume(name);
    await load();
    return v;
  }
  async function remove(name: string): Promise<void> {
    await engine().removeVolume(name);
    await load();
  }

  return { items, sizes, users, loaded, error, load, onEvent, create, remove };
});

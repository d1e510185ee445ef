/** Volumes: list with sizes (from /system/df) and users (containers mounting them), create, remove. */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ContainerSummary, Volume } from '@berth/common';
import { engine } from '../api/index.js';
import { containerName, useContainersStore } from './containers.js';
import { engineList } from './list.js';

/** Label on the helper containers VolumeDetail starts to browse a volume. */
export const HELPER_LABEL = 'io.berth.helper';

/** Which containers mount each named volume. */
export function volumeUsers(containers: ContainerSummary[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const c of containers) {
    // The dashboard's own browsing helper is not a user of the volume.
    if (c.Labels?.[HELPER_LABEL]) continue;
    for (const mt of c.Mounts ?? [])
      if (mt.Type === 'volume' && mt.Name) m.set(mt.Name, [...(m.get(mt.Name) ?? []), containerName(c)]);
  }
  return m;
}

export const useVolumesStore = defineStore('volumes', () => {
  const sizes = ref<Record<string, number>>({});
  const containers = useContainersStore();
  const users = computed(() => volumeUsers(containers.items));
  // Sizes are a nicety: an engine without /system/df volume usage still lists volumes.
  async function loadSizes(): Promise<void> {
    try {
      const df = await engine().df('volume');
      sizes.value = Object.fromEntries(
        (df.Volumes ?? [])
          .filter((v) => v.UsageData && v.UsageData.Size >= 0)
          .map((v) => [v.Name, v.UsageData!.Size]),
      );
    } catch {
      sizes.value = {};
    }
  }
  const list = engineList(
    async () =>
      ((await engine().listVolumes()).Volumes ?? []).slice().sort((a, b) => a.Name.localeCompare(b.Name)),
    (e) => e.Type === 'volume',
    loadSizes,
  );
  const load = list.load;

  async function create(name: string): Promise<Volume> {
    const v = await engine().createVolume(name);
    await load();
    return v;
  }
  async function remove(name: string): Promise<void> {
    await engine().removeVolume(name);
    await load();
  }

  return { ...list, sizes, users, create, remove };
});

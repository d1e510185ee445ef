/** Networks: list, create, inspect, remove; refreshed by network events. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { EventMessage, Network, NetworkCreateRequest } from '@berth/common';
import { engine } from '../api/index.js';

/** The networks every engine has; the dashboard does not offer to remove them. */
export const PREDEFINED = new Set(['bridge', 'host', 'none']);

export const useNetworksStore = defineStore('networks', () => {
  const items = shallowRef<Network[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);

  async function load(): Promise<void> {
    try {
      items.value = (await engine().listNetworks()).slice().sort((a, b) => a.Name.localeCompare(b.Name));
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  function onEvent(e: EventMessage): void {
    if (e.Type !== 'network') return;
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 60);
  }

  async function create(req: NetworkCreateRequest): Promise<void> {
    await engine().createNetwork(req);
    await load();
  }
  async function remove(id: string): Promise<void> {
    await engine().removeNetwork(id);
    await load();
  }
  const inspect = (id: string) => engine().inspectNetwork(id);

  return { items, loaded, error, load, onEvent, create, remove, inspect };
});

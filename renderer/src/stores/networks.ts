/** Networks: list, create, inspect, remove; refreshed by network events. */
import { defineStore } from 'pinia';
import type { NetworkCreateRequest } from '@berth/common';
import { engine } from '../api/index.js';
import { engineList } from './list.js';

/** The networks every engine has; the dashboard does not offer to remove them. */
export const PREDEFINED = new Set(['bridge', 'host', 'none']);

export const useNetworksStore = defineStore('networks', () => {
  const list = engineList(
    async () => (await engine().listNetworks()).slice().sort((a, b) => a.Name.localeCompare(b.Name)),
    (e) => e.Type === 'network',
  );

  async function create(req: NetworkCreateRequest): Promise<void> {
    await engine().createNetwork(req);
    await list.load();
  }
  async function remove(id: string): Promise<void> {
    await engine().removeNetwork(id);
    await list.load();
  }
  const inspect = (id: string) => engine().inspectNetwork(id);

  return { ...list, create, remove, inspect };
});

/** Networks: list, create, inspect, remove; refreshed by network events. */
import { defineStore } from 'pinia';
import type { ContainerSummary, NetworkCreateRequest } from '@berth/common';
import { engine } from '../api/index.js';
import { engineList } from './list.js';

/**
 * Which containers are on each network, by network name. The engine's network list carries no containers
 * (as dockerd's), so this comes from the container list, which does (NetworkSettings.Networks).
 */
export function containersByNetwork(containers: ContainerSummary[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of containers)
    for (const net of Object.keys(c.NetworkSettings?.Networks ?? {})) {
      const names = out.get(net) ?? [];
      names.push((c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''));
      out.set(net, names);
    }
  return out;
}

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

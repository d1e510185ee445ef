/** Containers: the list (refreshed by engine events, not polling), filters, compose grouping, selection, actions. */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ContainerSummary, EventMessage } from '@berth/common';
import { engine } from '../api/index.js';

export const COMPOSE_PROJECT = 'com.docker.compose.project';
export type StateFilter = 'all' | 'running' | 'stopped';
export type ContainerAction = 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill';

export function containerName(c: ContainerSummary): string {
  return (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
}

export function matches(c: ContainerSummary, search: string, state: StateFilter): boolean {
  if (state === 'running' && c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting')
    return false;
  if (state === 'stopped' && (c.State === 'running' || c.State === 'paused' || c.State === 'restarting'))
    return false;
  if (!search) return true;
  const q = search.toLowerCase();
  return (
    containerName(c).toLowerCase().includes(q) ||
    c.Image.toLowerCase().includes(q) ||
    c.Id.startsWith(q) ||
    (c.Labels[COMPOSE_PROJECT] ?? '').toLowerCase().includes(q)
  );
}

export interface ContainerGroup {
  project: string | null;
  items: ContainerSummary[];
}

/** Compose projects first (by name), then the containers that belong to none. */
export function groupByProject(items: ContainerSummary[]): ContainerGroup[] {
  const map = new Map<string, ContainerSummary[]>();
  const loose: ContainerSummary[] = [];
  for (const c of items) {
    const p = c.Labels[COMPOSE_PROJECT];
    if (p) map.set(p, [...(map.get(p) ?? []), c]);
    else loose.push(c);
  }
  const groups: ContainerGroup[] = [...map.keys()].sort().map((p) => ({ project: p, items: map.get(p)! }));
  if (loose.length) groups.push({ project: null, items: loose });
  return groups;
}

export const useContainersStore = defineStore('containers', () => {
  // shallowRef: the list is replaced whole on each refresh; 300 rows must not be made deeply reactive.
  const items = shallowRef<ContainerSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const search = ref('');
  const stateFilter = ref<StateFilter>('all');
  const grouped = ref(true);
  const selected = ref<Set<string>>(new Set());
  const busy = ref<Set<string>>(new Set());

  const filtered = computed(() => items.value.filter((c) => matches(c, search.value, stateFilter.value)));
  const groups = computed<ContainerGroup[]>(() =>
    grouped.value ? groupByProject(filtered.value) : [{ project: null, items: filtered.value }],
  );
  const running = computed(() => items.value.filter((c) => c.State === 'running').length);

  async function load(): Promise<void> {
    try {
      const list = await engine().listContainers(true);
      // User Timing marks: bench/dashboard.mjs measures list arrival → rows in the DOM.
      globalThis.performance?.mark?.('berth:containers-loaded');
      items.value = list;
      error.value = null;
      const ids = new Set(items.value.map((c) => c.Id));
      selected.value = new Set([...selected.value].filter((id) => ids.has(id)));
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
  }

  /** Replace the list directly (benchmarks, tests). */
  function setItems(list: ContainerSummary[]): void {
    items.value = list;
    loaded.value = true;
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Events come in bursts (create, attach, start...): refresh once per burst. */
  function onEvent(e: EventMessage): void {
    // A network connect/disconnect changes the container's networks (the Networks view counts from this list).
    const netChange = e.Type === 'network' && (e.Action === 'connect' || e.Action === 'disconnect');
    if (!netChange && (e.Type !== 'container' || e.Action.startsWith('exec_'))) return;
    if (e.Action === 'destroy') items.value = items.value.filter((c) => c.Id !== e.Actor.ID);
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 60);
  }

  function find(id: string): ContainerSummary | undefined {
    return items.value.find((c) => c.Id === id || c.Id.startsWith(id) || containerName(c) === id);
  }

  async function withBusy<T>(ids: string[], fn: () => Promise<T>): Promise<T> {
    busy.value = new Set([...busy.value, ...ids]);
    try {
      return await fn();
    } finally {
      const b = new Set(busy.value);
      ids.forEach((id) => b.delete(id));
      busy.value = b;
    }
  }

  /** Runs an action on each id; the first engine error is rethrown verbatim after all were tried. */
  async function act(ids: string[], action: ContainerAction): Promise<void> {
    await withBusy(ids, async () => {
      const results = await Promise.allSettled(ids.map((id) => engine().containerAction(id, action)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  async function remove(ids: string[], force = true): Promise<void> {
    await withBusy(ids, async () => {
      const results = await Promise.allSettled(ids.map((id) => engine().removeContainer(id, { force })));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    await load();
  }

  function toggle(id: string): void {
    const s = new Set(selected.value);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    selected.value = s;
  }
  function selectAll(on: boolean): void {
    selected.value = on ? new Set(filtered.value.map((c) => c.Id)) : new Set();
  }

  return {
    items,
    loaded,
    error,
    search,
    stateFilter,
    grouped,
    selected,
    busy,
    filtered,
    groups,
    running,
    load,
    setItems,
    onEvent,
    find,
    act,
    remove,
    toggle,
    selectAll,
  };
});

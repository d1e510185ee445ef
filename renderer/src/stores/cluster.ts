/**
 * The Cluster section's state: the kubeconfig's contexts, the chosen context and namespace (remembered), the
 * connection (as the status bar shows it), and one live list per resource type a view asks for.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ClusterContext, KubeObject } from '@berth/common';
import { clusterClient } from '../api/index.js';
import { RESOURCES, type ResourceName } from '../api/cluster-client.js';
import { watchedList, type WatchedList } from './cluster-watch.js';

export type ClusterConnection = 'none' | 'connecting' | 'connected' | 'unreachable';

const CONTEXT_KEY = 'berth.cluster.context';
const NS_KEY = 'berth.cluster.namespace';
/** The namespace picker's "all namespaces". */
export const ALL = '';

export const useClusterStore = defineStore('cluster', () => {
  const contexts = shallowRef<ClusterContext[]>([]);
  const problems = ref<string[]>([]);
  const context = ref<string>(globalThis.localStorage?.getItem(CONTEXT_KEY) ?? '');
  const namespace = ref<string>(globalThis.localStorage?.getItem(NS_KEY) ?? 'default');
  const namespaces = ref<string[]>([]);
  const connection = ref<ClusterConnection>('none');
  const error = ref<string | null>(null);
  const version = ref<string | null>(null);
  const lists = new Map<ResourceName, WatchedList<KubeObject>>();
  let contextsLoaded = false;

  const current = computed(() => contexts.value.find((c) => c.name === context.value));

  async function loadContexts(): Promise<void> {
    try {
      const c = await clusterClient().contexts();
      contexts.value = c.contexts;
      problems.value = c.problems;
      if (!c.contexts.some((x) => x.name === context.value))
        context.value = c.current ?? c.contexts[0]?.name ?? '';
      contextsLoaded = true;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** Connects to the chosen context: version, namespaces, then the lists views asked for. */
  async function connect(): Promise<void> {
    if (!contextsLoaded) await loadContexts();
    for (const l of lists.values()) l.stop();
    version.value = null;
    if (!context.value) {
      connection.value = 'none';
      return;
    }
    globalThis.localStorage?.setItem(CONTEXT_KEY, context.value);
    connection.value = 'connecting';
    const ctx = context.value;
    try {
      const v = await clusterClient().version(ctx);
      if (ctx !== context.value) return;
      version.value = v.gitVersion;
      connection.value = 'connected';
      error.value = null;
    } catch (e) {
      if (ctx !== context.value) return;
      connection.value = 'unreachable';
      error.value = (e as Error).message;
      return;
    }
    try {
      const ns = await clusterClient().list(ctx, RESOURCES.namespaces);
      namespaces.value = ns.items.map((n) => n.metadata.name).sort();
    } catch {
      namespaces.value = [];
    }
    for (const [name, l] of lists)
      l.start(ctx, RESOURCES[name].namespaced ? namespace.value || undefined : undefined);
  }

  function setContext(name: string): void {
    context.value = name;
    const def = contexts.value.find((c) => c.name === name)?.namespace;
    if (def) setNamespace(def, false);
    void connect();
  }

  function setNamespace(ns: string, restart = true): void {
    namespace.value = ns;
    globalThis.localStorage?.setItem(NS_KEY, ns);
    if (restart && connection.value === 'connected')
      for (const [name, l] of lists) if (RESOURCES[name].namespaced) l.start(context.value, ns || undefined);
  }

  /** A view's live list; started now when connected, else when the connection comes up. */
  function list(name: ResourceName): WatchedList<KubeObject> {
    let l = lists.get(name);
    if (!l) {
      l = watchedList(clusterClient, RESOURCES[name]);
      lists.set(name, l);
      if (connection.value === 'connected')
        l.start(context.value, RESOURCES[name].namespaced ? namespace.value || undefined : undefined);
    }
    return l;
  }

  /** Whether any live list has dropped its watch and not come back yet. */
  const reconnecting = computed(() => [...lists.values()].some((l) => l.state.value === 'reconnecting'));

  return {
    contexts,
    problems,
    context,
    namespace,
    namespaces,
    connection,
    error,
    version,
    current,
    reconnecting,
    loadContexts,
    connect,
    setContext,
    setNamespace,
    list,
  };
});

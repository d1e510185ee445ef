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
/** How often a connected cluster's /version is asked again; and one that does not answer. */
const PROBE_MS = 10_000;
const UNREACHABLE_PROBE_MS = 3_000;

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
  let probe: ReturnType<typeof setTimeout> | undefined;
  let probing = false;

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

  /**
   * The cluster can stop, or be reset, under the page (Settings → Kubernetes, `berth kube`, the tray) without a
   * watch open to notice: its /version is asked again while the store runs, more often while it does not answer.
   */
  function scheduleProbe(): void {
    clearTimeout(probe);
    if (!probing || !context.value) return;
    probe = setTimeout(
      () => void check(),
      connection.value === 'connected' ? PROBE_MS : UNREACHABLE_PROBE_MS,
    );
  }

  /** Asks the chosen context's /version now: a cluster gone reads unreachable, one back is connected anew. */
  async function check(): Promise<void> {
    const ctx = context.value;
    // A connect() under way (a context switch, a cluster come back) answers for itself.
    const superseded = () => ctx !== context.value || connection.value === 'connecting';
    if (connection.value === 'connecting') return;
    if (!ctx) {
      // No context yet: an enable may just have merged one into the kubeconfig.
      await loadContexts();
      if (context.value) await connect();
      return;
    }
    try {
      const v = await clusterClient().version(ctx);
      if (superseded()) return;
      if (connection.value !== 'connected') return await connect();
      version.value = v.gitVersion;
    } catch (e) {
      if (superseded()) return;
      connection.value = 'unreachable';
      error.value = (e as Error).message;
    }
    scheduleProbe();
  }

  /** Connects to the chosen context: version, namespaces, then the lists views asked for. */
  async function connect(): Promise<void> {
    probing = true;
    clearTimeout(probe);
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
      scheduleProbe();
      return;
    }
    scheduleProbe();
    try {
      const ns = await clusterClient().list(ctx, RESOURCES.namespaces);
      namespaces.value = ns.items.map((n) => n.metadata.name).sort();
    } catch {
      namespaces.value = [];
    }
    for (const [name, l] of lists)
      l.start(ctx, RESOURCES[name].namespaced ? namespace.value || undefined : undefined);
  }

  /** Stops asking (the page goes away; a test's end). */
  function stop(): void {
    probing = false;
    clearTimeout(probe);
    for (const l of lists.values()) l.stop();
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
    check,
    stop,
    setContext,
    setNamespace,
    list,
  };
});

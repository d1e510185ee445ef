/**
 * A list kept live by a watch (no polling): list, then watch from the list's resourceVersion; events update
 * the rows as they come. When the stream ends it resumes from the last revision seen, and relists when the
 * server says that revision has expired (410). `state` says what the person sees: live, or reconnecting.
 */
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import type { KubeObject } from '@berth/common';
import { KubeError, type ClusterClient, type ResourceType } from '../api/cluster-client.js';
import type { StreamHandle } from '../api/transport.js';

export type WatchState = 'idle' | 'loading' | 'live' | 'reconnecting' | 'error';

export interface WatchedList<T extends KubeObject> {
  items: ShallowRef<T[]>;
  state: Ref<WatchState>;
  error: Ref<string | null>;
  /** When the watch last dropped (for "reconnected" notices). */
  drops: Ref<number>;
  start(context: string, namespace: string | undefined): void;
  stop(): void;
}

const key = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** List items come without kind and apiVersion; applies and actions need both. */
function typed<T extends KubeObject>(o: KubeObject, t: ResourceType): T {
  return { ...o, apiVersion: t.group ? `${t.group}/${t.version}` : t.version, kind: t.kind } as T;
}

export function watchedList<T extends KubeObject>(
  client: () => ClusterClient,
  type: ResourceType,
  onChange?: () => void,
): WatchedList<T> {
  const items = shallowRef<T[]>([]);
  const state = ref<WatchState>('idle');
  const error = ref<string | null>(null);
  const drops = ref(0);
  let rows = new Map<string, T>();
  let stream: StreamHandle | undefined;
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function publish(): void {
    items.value = [...rows.values()];
    onChange?.();
  }

  function stop(): void {
    generation++;
    clearTimeout(timer);
    stream?.close();
    stream = undefined;
    state.value = 'idle';
  }

  function start(context: string, namespace: string | undefined): void {
    stop();
    const gen = generation;
    rows = new Map();
    items.value = [];
    state.value = 'loading';
    error.value = null;
    let rv = '';
    let backoff = 500;

    /** A failed list is an error (the cluster cannot be reached); a dropped watch is a reconnect. */
    const retry = (relist: boolean, failedList = false) => {
      if (gen !== generation) return;
      state.value = failedList ? 'error' : 'reconnecting';
      drops.value++;
      timer = setTimeout(() => void (relist ? list() : watch()), backoff);
      backoff = Math.min(backoff * 2, 5000);
    };

    async function list(): Promise<void> {
      try {
        const l = await client().list<T>(context, type, namespace);
        if (gen !== generation) return;
        rows = new Map(l.items.map((o) => [key(o), typed<T>(o, type)]));
        rv = l.metadata.resourceVersion ?? '';
        publish();
        error.value = null;
        watch();
      } catch (e) {
        if (gen !== generation) return;
        error.value = (e as Error).message;
        retry(true, true);
      }
    }

    function watch(): void {
      if (gen !== generation) return;
      stream = client().watch<T>(context, type, namespace, rv, {
        onOpen: () => {
          if (gen !== generation) return;
          state.value = 'live';
          error.value = null;
          backoff = 500;
        },
        onEvent: (e) => {
          if (gen !== generation) return;
          if (e.type === 'ERROR') {
            const s = e.object as unknown as { code?: number; message?: string };
            error.value = s.message ?? 'watch error';
            if (s.code === 410) rv = '';
            return;
          }
          if (e.object.metadata.resourceVersion) rv = e.object.metadata.resourceVersion;
          if (e.type === 'BOOKMARK') return;
          const o = typed<T>(e.object, type);
          if (e.type === 'DELETED') rows.delete(key(o));
          else rows.set(key(o), o);
          publish();
        },
        onEnd: (err) => {
          if (gen !== generation) return;
          if (err) error.value = err.message;
          const expired = !rv || (err instanceof KubeError && err.code === 410);
          retry(expired);
        },
      });
    }

    void list();
  }

  return { items, state, error, drops, start, stop };
}

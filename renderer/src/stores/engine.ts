/**
 * Engine connection: version/info for the status bar, and the one /events stream that keeps every list
 * live (no polling). When the stream drops, it reconnects with backoff and reloads what may have changed.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { EventMessage, SystemInfo, SystemVersion } from '@berth/common';
import { engine } from '../api/index.js';
import type { Stream } from '../api/engine-client.js';

export type Connection = 'connecting' | 'connected' | 'disconnected';
export type EventSink = { onEvent(e: EventMessage): void; load(): Promise<void> };

export const useEngineStore = defineStore('engine', () => {
  const connection = ref<Connection>('connecting');
  const version = ref<SystemVersion | null>(null);
  const info = ref<SystemInfo | null>(null);
  const error = ref<string | null>(null);
  const lastEvent = ref<EventMessage | null>(null);
  const sinks: EventSink[] = [];
  let stream: Stream | undefined;
  let retry = 0;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  async function refreshInfo(): Promise<void> {
    try {
      [version.value, info.value] = await Promise.all([engine().version(), engine().info()]);
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function open(): void {
    stream = engine().events((e) => {
      if (connection.value !== 'connected') {
        connection.value = 'connected';
      }
      lastEvent.value = e;
      for (const s of sinks) s.onEvent(e);
      if (
        e.Type === 'container' &&
        ['start', 'die', 'destroy', 'create', 'pause', 'unpause'].includes(e.Action)
      )
        void refreshInfo();
    });
    // The stream sends nothing until something happens: treat an open stream plus a good ping as connected.
    void engine()
      .ping()
      .then((ok) => {
        if (ok && !stopped) {
          connection.value = 'connected';
          retry = 0;
        }
      })
      .catch(() => undefined);
    stream.done.then(reconnect, (e: Error) => {
      error.value = e.message;
      reconnect();
    });
  }

  function reconnect(): void {
    if (stopped) return;
    connection.value = 'disconnected';
    const delay = Math.min(500 * 2 ** retry++, 10_000);
    retryTimer = setTimeout(() => {
      open();
      void Promise.all([refreshInfo(), ...sinks.map((s) => s.load())]);
    }, delay);
  }

  /** Starts the live feed and the first load of every list. */
  async function start(list: EventSink[]): Promise<void> {
    stopped = false;
    sinks.splice(0, sinks.length, ...list);
    open();
    await Promise.all([refreshInfo(), ...list.map((s) => s.load())]);
  }

  function stop(): void {
    stopped = true;
    clearTimeout(retryTimer);
    stream?.close();
  }

  return { connection, version, info, error, lastEvent, start, stop, refreshInfo };
});

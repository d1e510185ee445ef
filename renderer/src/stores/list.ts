/** The shape every engine list store shares: items, loaded, the engine's error, a load, event-driven refresh. */
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import type { EventMessage } from '@berth/common';

export interface EngineList<T> {
  items: ShallowRef<T[]>;
  loaded: Ref<boolean>;
  error: Ref<string | null>;
  /** a closure: stores hand it on detached */
  load: () => Promise<void>;
  /** Events come in bursts (create, connect, start...): one reload per burst. */
  onEvent(e: EventMessage): void;
}

export function engineList<T>(
  fetch: () => Promise<T[]>,
  concerns: (e: EventMessage) => boolean,
  after?: () => Promise<void>,
): EngineList<T> {
  // shallowRef: lists are replaced whole; hundreds of rows must not be made deeply reactive.
  const items = shallowRef<T[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  async function load(): Promise<void> {
    try {
      items.value = await fetch();
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
    await after?.();
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  function onEvent(e: EventMessage): void {
    if (!concerns(e)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 60);
  }
  return { items, loaded, error, load, onEvent };
}

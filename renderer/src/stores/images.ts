/** Images: list, pulls with per-layer progress, push, tag, remove, prune; refreshed by image events. */
import { defineStore } from 'pinia';
import { reactive, ref, shallowRef } from 'vue';
import type { EventMessage, ImageSummary } from '@berth/common';
import { engine } from '../api/index.js';
import { applyProgress, finishTransfer, newTransfer, type TransferState } from './progress.js';

export const useImagesStore = defineStore('images', () => {
  const items = shallowRef<ImageSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  /** Running and finished pulls/pushes, newest first. */
  const transfers = reactive<TransferState[]>([]);

  async function load(): Promise<void> {
    try {
      items.value = await engine().listImages();
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  function onEvent(e: EventMessage): void {
    // Containers in use change with container events too (the "in use" column).
    if (e.Type !== 'image' && !(e.Type === 'container' && (e.Action === 'create' || e.Action === 'destroy'))) return;
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 60);
  }

  function track(kind: 'pull' | 'push', ref: string, open: (t: TransferState) => { done: Promise<void> }): Promise<TransferState> {
    transfers.unshift(newTransfer(ref));
    const t = transfers[0]!;
    void kind;
    const s = open(t);
    return s.done.then(
      () => {
        finishTransfer(t);
        void load();
        return t;
      },
      (err: Error) => {
        finishTransfer(t, err);
        return t;
      },
    );
  }

  function pull(ref: string): Promise<TransferState> {
    return track('pull', ref, (t) => engine().pull(ref, (m) => applyProgress(t, m)));
  }
  function push(ref: string): Promise<TransferState> {
    return track('push', ref, (t) => engine().push(ref, (m) => applyProgress(t, m)));
  }
  function dismiss(t: TransferState): void {
    const i = transfers.indexOf(t);
    if (i >= 0) transfers.splice(i, 1);
  }

  async function remove(name: string, force = false): Promise<void> {
    await engine().removeImage(name, force);
    await load();
  }
  async function tag(name: string, target: string): Promise<void> {
    const colon = target.lastIndexOf(':');
    const slash = target.lastIndexOf('/');
    const [repo, t] = colon > slash ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
    await engine().tagImage(name, repo, t);
    await load();
  }
  async function prune(danglingOnly: boolean): Promise<{ count: number; reclaimed: number }> {
    const r = await engine().pruneImages(danglingOnly);
    await load();
    return { count: (r.ImagesDeleted ?? []).filter((d) => d.Deleted).length, reclaimed: r.SpaceReclaimed };
  }

  return { items, loaded, error, transfers, load, onEvent, pull, push, dismiss, remove, tag, prune };
});

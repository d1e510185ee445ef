/** Images: list, pulls with per-layer progress, push, tag, remove, prune; refreshed by image events. */
import { defineStore } from 'pinia';
import { reactive } from 'vue';
import { engine } from '../api/index.js';
import { engineList } from './list.js';
import { applyProgress, finishTransfer, newTransfer, type TransferState } from './progress.js';

export const useImagesStore = defineStore('images', () => {
  // Containers in use change with container events too (the "in use" column).
  const list = engineList(
    () => engine().listImages(),
    (e) =>
      e.Type === 'image' || (e.Type === 'container' && (e.Action === 'create' || e.Action === 'destroy')),
  );
  const load = list.load;
  /** Running and finished pulls/pushes, newest first. */
  const transfers = reactive<TransferState[]>([]);

  function track(ref: string, open: (t: TransferState) => { done: Promise<void> }): Promise<TransferState> {
    transfers.unshift(newTransfer(ref));
    const t = transfers[0];
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
    return track(ref, (t) => engine().pull(ref, (m) => applyProgress(t, m)));
  }
  function push(ref: string): Promise<TransferState> {
    return track(ref, (t) => engine().push(ref, (m) => applyProgress(t, m)));
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

  /** `docker load` of an archive file; resolves with what the engine says it loaded. */
  async function loadArchive(archive: Uint8Array): Promise<string[]> {
    const loaded: string[] = [];
    await engine().loadImage(archive, (m) => {
      const text = (m as { stream?: string }).stream;
      if (text?.startsWith('Loaded image')) loaded.push(text.trim());
    }).done;
    await load();
    return loaded;
  }

  return { ...list, transfers, pull, push, dismiss, remove, tag, prune, loadArchive };
});

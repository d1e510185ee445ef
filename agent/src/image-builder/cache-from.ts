/**
 * `docker build --cache-from IMAGE` with the classic builder, as dockerd's image cache does it: after a miss
 * in the local cache, a step is taken from a source image whose history starts with the current parent's
 * (same history entries, same layers) and whose next history entry was made by the same instruction
 * (`created_by`). The step is restored as an image of the parent's layers plus the source's layer for that
 * entry; the source's last step is the source itself. Once one source matched, only it is consulted; once
 * nothing matched, sources are not consulted again in this build (dockerd's ImageCache.GetCache).
 */
import type { BuildImage, HistoryItemInput } from './ports.js';

/** What a cache-from probe found: the source image itself, or one of its steps to recreate on the parent. */
export type CacheFromHit =
  | { kind: 'image'; id: string }
  | { kind: 'step'; source: BuildImage; history: HistoryItemInput; layer: string | undefined };

function sameEntry(a: HistoryItemInput, b: HistoryItemInput): boolean {
  return (
    (a.created ?? '') === (b.created ?? '') &&
    (a.created_by ?? '') === (b.created_by ?? '') &&
    (a.author ?? '') === (b.author ?? '') &&
    (a.comment ?? '') === (b.comment ?? '') &&
    !!a.empty_layer === !!b.empty_layer
  );
}

/** The source's history starts with the parent's history and layers (no parent: any source fits). */
function validParent(source: BuildImage, parent: BuildImage | undefined): boolean {
  if (source.history.length === 0) return false;
  if (!parent || (parent.history.length === 0 && parent.diffIds.length === 0)) return true;
  if (parent.history.length >= source.history.length || parent.diffIds.length > source.diffIds.length)
    return false;
  return (
    parent.history.every((h, i) => sameEntry(h, source.history[i])) &&
    parent.diffIds.every((d, i) => d === source.diffIds[i])
  );
}

/** The diff id the source's history entry `index` added, or undefined for a config-only entry. */
function layerFor(source: BuildImage, index: number): string | undefined {
  let layer = 0;
  for (let i = 0; i < index; i++) if (!source.history[i].empty_layer) layer++;
  return source.history[index].empty_layer ? undefined : source.diffIds[layer];
}

export class CacheFromSources {
  private readonly all: readonly BuildImage[];

  constructor(private sources: BuildImage[]) {
    this.all = [...sources];
  }

  /**
   * With --cache-from, a local cache hit counts only when it is one of the sources or an ancestor of one
   * (dockerd's ImageCache.GetCache): sources that do not exist leave nothing, so the local cache is off.
   */
  admitsLocal(hit: BuildImage): boolean {
    return this.all.some((s) => s.id === hit.id || (hit.history.length > 0 && validParent(s, hit)));
  }

  probe(parent: BuildImage | undefined, createdBy: string): CacheFromHit | undefined {
    const n = parent?.history.length ?? 0;
    for (const source of this.sources) {
      if (!validParent(source, parent) || source.history[n]?.created_by !== createdBy) continue;
      if (source.history.length - 1 === n) return { kind: 'image', id: source.id };
      this.sources = [source];
      return { kind: 'step', source, history: source.history[n], layer: layerFor(source, n) };
    }
    this.sources = [];
    return undefined;
  }
}

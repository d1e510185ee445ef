/** Pull/push progress as per-layer bars, folded from the engine's progress messages (pure; tested). */
import type { ProgressMessage } from '@berth/common';
import { bytes } from './format.js';

export interface LayerProgress {
  id: string;
  status: string;
  current: number;
  total: number;
  /** 0..1, or -1 when the size is not known yet. */
  fraction: number;
  done: boolean;
}

export interface TransferState {
  ref: string;
  layers: LayerProgress[];
  /** Lines without a layer id ("Pulling from ...", "Digest: ...", "Status: ..."). */
  messages: string[];
  state: 'running' | 'done' | 'error';
  error?: string;
}

const LAYER_DONE =
  /^(Pull complete|Already exists|Layer already exists|Pushed|Download complete|Mounted from)/;

export function newTransfer(ref: string): TransferState {
  return { ref, layers: [], messages: [], state: 'running' };
}

export function applyProgress(t: TransferState, m: ProgressMessage): void {
  if (m.error || m.errorDetail) {
    t.state = 'error';
    t.error = m.errorDetail?.message ?? m.error;
    return;
  }
  if (
    !m.id ||
    !m.status ||
    /^(Pulling from|Digest:|Status:)/.test(m.status) ||
    m.id === t.ref.split(':').pop()
  ) {
    if (m.status)
      t.messages.push(m.id && !/^(Digest|Status)/.test(m.status) ? `${m.id}: ${m.status}` : m.status);
    return;
  }
  let layer = t.layers.find((l) => l.id === m.id);
  if (!layer) {
    layer = { id: m.id, status: '', current: 0, total: 0, fraction: -1, done: false };
    t.layers.push(layer);
  }
  layer.status = m.status;
  if (m.progressDetail?.total) {
    layer.total = m.progressDetail.total;
    layer.current = m.progressDetail.current ?? 0;
    // Download then extract both report bytes; extraction counts as the second half of the bar.
    const f = layer.current / layer.total;
    layer.fraction = m.status.startsWith('Extracting')
      ? 0.5 + f / 2
      : m.status.startsWith('Downloading')
        ? f / 2
        : f;
  }
  if (LAYER_DONE.test(m.status)) {
    layer.done = m.status !== 'Download complete';
    layer.fraction = layer.done ? 1 : 0.5;
  }
}

export function finishTransfer(t: TransferState, err?: Error): void {
  if (err) {
    t.state = 'error';
    t.error = t.error ?? err.message;
    return;
  }
  if (t.state === 'error') return;
  t.state = 'done';
  for (const l of t.layers) {
    l.done = true;
    l.fraction = 1;
  }
}

export function overallFraction(t: TransferState): number {
  if (t.state === 'done') return 1;
  if (t.layers.length === 0) return 0;
  return t.layers.reduce((s, l) => s + Math.max(l.fraction, 0), 0) / t.layers.length;
}

/** A layer's line: "Downloading 21.0 MB / 30.0 MB", or just its status once done or sizeless. */
export function layerText(l: LayerProgress): string {
  return l.total && !l.done ? `${l.status} ${bytes(l.current)} / ${bytes(l.total)}` : l.status;
}

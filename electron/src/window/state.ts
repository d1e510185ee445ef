/** Window bounds remembered across launches, clamped back onto a visible display. */
import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from '../settings/store.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Rect;
  maximized: boolean;
}

export const MIN_SIZE = { width: 1024, height: 640 };
export const DEFAULT_SIZE = { width: 1280, height: 800 };

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Returns bounds that fit: at least the minimum size, no larger than the work area, and on the display
 * it overlaps most (a window saved on an unplugged monitor comes back centred on the primary one).
 */
export function fitToDisplays(saved: Rect | undefined, workAreas: Rect[]): Rect {
  const primary = workAreas[0] ?? { x: 0, y: 0, ...DEFAULT_SIZE };
  const size = (r: Partial<Rect>, area: Rect) => ({
    width: Math.min(Math.max(r.width ?? DEFAULT_SIZE.width, MIN_SIZE.width), area.width),
    height: Math.min(Math.max(r.height ?? DEFAULT_SIZE.height, MIN_SIZE.height), area.height),
  });
  const valid = saved && [saved.x, saved.y, saved.width, saved.height].every(Number.isFinite);
  const best = valid
    ? workAreas.map((a) => ({ a, o: overlap(saved, a) })).sort((p, q) => q.o - p.o)[0]
    : undefined;
  if (!valid || !best || best.o === 0) {
    const s = size({}, primary);
    return {
      x: primary.x + Math.round((primary.width - s.width) / 2),
      y: primary.y + Math.round((primary.height - s.height) / 2),
      ...s,
    };
  }
  const area = best.a;
  const s = size(saved, area);
  const x = Math.min(Math.max(saved.x, area.x), area.x + area.width - s.width);
  const y = Math.min(Math.max(saved.y, area.y), area.y + area.height - s.height);
  return { x, y, ...s };
}

export async function loadWindowState(file: string): Promise<WindowState | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<WindowState>;
    if (!v.bounds) return undefined;
    return { bounds: v.bounds, maximized: v.maximized === true };
  } catch {
    return undefined;
  }
}

export function saveWindowState(file: string, state: WindowState): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(state) + '\n');
}

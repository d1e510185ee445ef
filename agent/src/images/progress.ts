/** dockerd's progress lines: status per layer id, progressDetail, and the `[===>   ]  1.2MB/3MB` string. */
import type { ProgressMessage } from '@berth/common';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** go-units HumanSize: decimal units, 4 significant digits (`527.8kB`, `2.152MB`). */
export function humanSize(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${parseFloat(v.toPrecision(4))}${UNITS[i]}`;
}

/** jsonmessage.JSONProgress.String() as the daemon renders it (width 200: bar + numbers). */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  let pct = Math.floor(Math.floor((current / total) * 100) / 2);
  if (pct > 50) pct = 50;
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers =
    current > total
      ? humanSize(current).padStart(8)
      : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

export interface ProgressOut {
  write(m: ProgressMessage): void;
}

export function status(out: ProgressOut, id: string | undefined, text: string): void {
  out.write(id === undefined ? { status: text } : { status: text, progressDetail: {}, id });
}

export function progress(out: ProgressOut, id: string, text: string, current: number, total: number): void {
  out.write({ status: text, progressDetail: { current, total }, progress: progressBar(current, total), id });
}

/** Rate-limits progress lines for one id (the CLI redraws anyway; dockerd sends about 10 per second). */
export class Throttle {
  private last = 0;
  constructor(private readonly ms = 100) {}
  ready(final = false): boolean {
    const now = Date.now();
    if (!final && now - this.last < this.ms) return false;
    this.last = now;
    return true;
  }
}

export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

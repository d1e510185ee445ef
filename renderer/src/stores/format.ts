/**
 * Human-readable sizes and times, as the docker CLI prints them: image, layer and disk sizes in decimal units
 * (`docker images`: 1.98 MB), memory in binary units (`docker stats`: 64 MiB / 1.944 GiB).
 */
import type { HistoryItem } from '@berth/common';

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Memory as `docker stats` prints it: binary units, so a 64 MiB limit reads "64 MiB", not "67.1 MB". */
export function memory(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 || Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return `${text} ${units[i]}`;
}

export function ago(unixSeconds: number, now = Date.now()): string {
  const s = Math.max(0, Math.round(now / 1000 - unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * `/bin/sh -c #(nop) CMD ["sh"]` → `CMD ["sh"]`; `/bin/sh -c apk add x` → `RUN apk add x`; BuildKit's
 * `RUN /bin/sh -c x # buildkit` → `RUN x`. A layer with no recorded instruction (a base layer from
 * `docker import` or an image built without history) says so, with its comment when there is one.
 */
export function historyInstruction(h: Pick<HistoryItem, 'CreatedBy' | 'Comment'>): {
  text: string;
  recorded: boolean;
} {
  const createdBy = (h.CreatedBy ?? '').replace(/\s*# buildkit$/, '').trim();
  if (!createdBy)
    return {
      text: h.Comment ? h.Comment : 'no instruction recorded (a base or imported layer)',
      recorded: false,
    };
  const nop = /#\(nop\)\s*(.*)$/s.exec(createdBy);
  if (nop) return { text: nop[1].trim(), recorded: true };
  const sh = /^(?:RUN )?\/bin\/sh -c (.*)$/s.exec(createdBy);
  return { text: sh ? `RUN ${sh[1]}` : createdBy, recorded: true };
}

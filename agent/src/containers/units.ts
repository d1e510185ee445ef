/** Docker's string units: sizes ("64m", go-units RAMInBytes), signals ("SIGTERM", "TERM", "15"). */
import os from 'node:os';
import { badParameter } from '../errors.js';

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i;
const MULT: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** Binary-unit sizes as `docker run --memory`/`--tmpfs size=`: "512", "64m", "1.5g", "10MiB". */
export function parseBytes(s: string, what = 'size'): number {
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw badParameter(`invalid ${what}: '${s}'`);
  return Math.floor(Number(m[1]) * MULT[m[2].toLowerCase()]);
}

/** Signal names as Linux numbers them (what `docker kill -s` and StopSignal accept). */
export const SIGNALS: Record<string, number> = { ...os.constants.signals };

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Parses "SIGTERM", "term", "15", "SIGRTMIN+3" to a signal number or throws 400. */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > SIGRTMAX) throw badParameter(`Invalid signal: ${raw}`);
    return n;
  }
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'IN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n < SIGRTMIN || n > SIGRTMAX) throw badParameter(`Invalid signal: ${raw}`);
    return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw badParameter(`Invalid signal: ${raw}`);
  return n;
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n) return k;
  return String(n);
}

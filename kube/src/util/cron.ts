/**
 * Cron schedules as the CronJob controller reads them (robfig/cron v3's ParseStandard, which kube-apiserver and
 * kube-controller-manager both use): five fields (minute hour day-of-month month day-of-week) of lists of
 * `*`, `?`, `n`, `a-b`, with `/step`, month and weekday names, or a descriptor (`@hourly`, `@daily`, `@every 5m`
 * ...). Errors carry robfig's texts, which kube-apiserver returns verbatim in its 422. `next` walks the wall clock
 * of a time zone (IANA, through Intl) the way robfig's SpecSchedule.Next does.
 */

import { existsSync } from 'node:fs';

const ZONEINFO = '/usr/share/zoneinfo';

export class CronError extends Error {}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };
const FIELDS: Bounds[] = [{ min: 0, max: 59 }, { min: 0, max: 23 }, { min: 1, max: 31 }, MONTHS, DOW];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** One field: the allowed values, and whether it was written as `*`/`?` (day matching depends on it). */
interface Field {
  values: boolean[];
  star: boolean;
}

export interface Schedule {
  /** The first activation strictly after `afterMs` (ms since the epoch), or undefined within five years. */
  next(afterMs: number): number | undefined;
}

/** Go's strconv.Atoi error text, as robfig quotes it. */
function parseInt10(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr))
    throw new CronError(`failed to parse int from ${expr}: strconv.Atoi: parsing "${expr}": invalid syntax`);
  const n = Number(expr);
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 63 - 1)
    throw new CronError(
      `failed to parse int from ${expr}: strconv.Atoi: parsing "${expr}": value out of range`,
    );
  if (n < 0) throw new CronError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function intOrName(expr: string, b: Bounds): number {
  const named = b.names?.[expr.toLowerCase()];
  return named ?? parseInt10(expr);
}

/** robfig's getRange: one comma-separated piece of a field. */
function range(expr: string, b: Bounds, f: Field): void {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = intOrName(lowAndHigh[0], b);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1], b);
    else throw new CronError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseInt10(rangeAndStep[1]);
    // "N/step" means "N-max/step".
    if (single) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) throw new CronError(`too many slashes: ${expr}`);
  if (start < b.min) throw new CronError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  for (let i = start; i <= end; i += step) f.values[i] = true;
  if (star) f.star = true;
}

function field(text: string, b: Bounds): Field {
  const f: Field = { values: [], star: false };
  for (const piece of text.split(',').filter(Boolean)) range(piece, b, f);
  return f;
}

/** Go's time.ParseDuration, for `@every` (units ns, us, µs, ms, s, m, h). */
function parseDuration(s: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const body = s.replace(/^[+-]/, '');
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let i = 0;
  while (i < body.length) {
    re.lastIndex = i;
    const m = re.exec(body);
    if (!m)
      throw new CronError(
        `time: ${/\d/.test(body) ? 'missing unit' : 'invalid duration'} in duration "${s}"`,
      );
    ms += Number(m[1]) * units[m[2]];
    i = re.lastIndex;
  }
  if (!body) throw new CronError(`time: invalid duration "${s}"`);
  return s.startsWith('-') ? -ms : ms;
}

/**
 * Parses a schedule as robfig/cron's ParseStandard, in `timeZone` (IANA; UTC when absent). A `TZ=`/`CRON_TZ=`
 * prefix names the zone too (kube-apiserver refuses it separately).
 */
export function parseSchedule(spec: string, timeZone?: string): Schedule {
  if (!spec.length) throw new CronError('empty spec string');
  let tz = timeZone;
  let s = spec;
  const m = /^(?:CRON_)?TZ=(\S*)/.exec(s);
  if (m) {
    tz = m[1];
    if (!validTimeZone(tz)) throw new CronError(`provided bad location ${tz}: unknown time zone ${tz}`);
    s = s.slice(m[0].length).trim();
  }
  if (s.startsWith('@')) {
    if (s.startsWith('@every ')) {
      let ms: number;
      try {
        ms = parseDuration(s.slice(7));
      } catch (e) {
        throw new CronError(`failed to parse duration ${s}: ${(e as Error).message}`);
      }
      return every(ms);
    }
    const d = DESCRIPTORS[s];
    if (!d) throw new CronError(`unrecognized descriptor: ${s}`);
    s = d;
  }
  const parts = s.split(/\s+/).filter(Boolean);
  if (parts.length !== 5)
    throw new CronError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => field(p, FIELDS[i]));
  return new SpecSchedule(minute, hour, dom, month, dow, tz);
}

/** robfig's ConstantDelaySchedule: every `ms` (at least a second), on whole seconds. */
function every(ms: number): Schedule {
  const delay = Math.max(1000, ms - (ms % 1000));
  return { next: (after) => after - (after % 1000) + delay };
}

/**
 * Whether `tz` names a zone as Go's time.LoadLocation finds it: case-sensitively in the system's zoneinfo when there
 * is one (Intl alone would take "america/new_york"), and one Intl knows, since Intl computes the wall clock.
 */
export function validTimeZone(tz: string): boolean {
  if (!tz || tz === 'Local' || tz.split('/').some((p) => !p || p === '.' || p === '..')) return false;
  if (tz !== 'UTC' && existsSync(ZONEINFO) && !existsSync(`${ZONEINFO}/${tz}`)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of `tz` at `ms`, as milliseconds of a UTC date with the same fields. */
function toWall(ms: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC') return ms;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(ms)) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) + (ms % 1000);
}

/** The instant whose wall clock in `tz` is `wall` (in a DST gap: the instant the clock jumped past it). */
function fromWall(wall: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC') return wall;
  let guess = wall - (toWall(wall, tz) - wall);
  for (let i = 0; i < 2; i++) {
    const off = toWall(guess, tz) - guess;
    if (toWall(wall - off, tz) === wall) return wall - off;
    guess = wall - off;
  }
  return guess;
}

class SpecSchedule implements Schedule {
  constructor(
    private readonly minute: Field,
    private readonly hour: Field,
    private readonly dom: Field,
    private readonly month: Field,
    private readonly dow: Field,
    private readonly tz: string | undefined,
  ) {}

  private dayMatches(d: Date): boolean {
    const domMatch = !!this.dom.values[d.getUTCDate()];
    const dowMatch = !!this.dow.values[d.getUTCDay()];
    return this.dom.star || this.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
  }

  next(afterMs: number): number | undefined {
    const wallAfter = toWall(afterMs, this.tz);
    // The next whole minute after `after`, walked field by field as robfig does (in wall-clock time).
    const t = new Date(Math.floor(wallAfter / 60_000) * 60_000 + 60_000);
    const yearLimit = t.getUTCFullYear() + 5;
    for (;;) {
      if (t.getUTCFullYear() > yearLimit) return undefined;
      if (!this.month.values[t.getUTCMonth() + 1]) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!this.dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!this.hour.values[t.getUTCHours()]) {
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
        continue;
      }
      if (!this.minute.values[t.getUTCMinutes()]) {
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
        continue;
      }
      const at = fromWall(t.getTime(), this.tz);
      if (at > afterMs) return at;
      // A wall-clock time that repeats (DST fall-back) and was already passed: keep walking.
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    }
  }
}

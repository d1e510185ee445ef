/** One event bus feeding `/events` and the dashboard; keeps recent history for `since`. */
import { EventEmitter } from 'node:events';
import type { EventMessage, EventType } from '@berth/common';

const HISTORY = 1024;

export class EventBus {
  private history: EventMessage[] = [];
  private emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(
    type: EventType,
    action: string,
    id: string,
    attributes: Record<string, string> = {},
  ): EventMessage {
    const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const msg: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    // Old clients read status/id/from on container and image events.
    if (type === 'container' || type === 'image') {
      msg.status = action;
      msg.id = id;
      if (attributes.image) msg.from = attributes.image;
    }
    this.history.push(msg);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    this.emitter.emit('event', msg);
    return msg;
  }

  /** Events with timeNano in [sinceNs, untilNs]. */
  since(sinceNs: number, untilNs = Infinity): EventMessage[] {
    return this.history.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(fn: (e: EventMessage) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  get listenerCount(): number {
    return this.emitter.listenerCount('event');
  }
}

/** `/events` filters as dockerd applies them. */
export type EventFilters = Map<string, string[]>;

export const EVENT_FILTER_KEYS = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
] as const;

export function eventMatches(e: EventMessage, f: EventFilters): boolean {
  const any = (key: string, pred: (v: string) => boolean): boolean => {
    const vals = f.get(key);
    return !vals || vals.length === 0 || vals.some(pred);
  };
  const attrs = e.Actor.Attributes;
  const idOrName = (type: EventType) => (v: string) =>
    e.Type === type && (e.Actor.ID === v || e.Actor.ID.startsWith(v) || attrs.name === v);
  // A filter on one object type (container=x) restricts events of that type only, like dockerd.
  const typed: [string, EventType][] = [
    ['container', 'container'],
    ['network', 'network'],
    ['volume', 'volume'],
  ];
  for (const [key, type] of typed) {
    if (f.has(key) && e.Type === type && !any(key, idOrName(type))) return false;
  }
  if (f.has('image') && !any('image', (v) => e.Actor.ID === v || attrs.image === v || attrs.name === v))
    return false;
  return (
    any('type', (v) => e.Type === v) &&
    any('event', (v) => e.Action === v || e.Action.startsWith(v + ':')) &&
    any('scope', (v) => e.scope === v) &&
    any('daemon', () => e.Type === 'daemon') &&
    any('label', (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? attrs[v] !== undefined : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

/** Docker timestamps: unix seconds with optional fraction, or RFC 3339. Returns nanoseconds. */
export function parseTimestamp(v: string, nowMs = Date.now()): number | undefined {
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return Number(s) * 1e9 + Number((frac + '000000000').slice(0, 9));
  }
  // Relative durations such as `10m` (the CLI converts these, but other clients send them).
  const rel = /^(\d+)(ns|us|ms|s|m|h)$/.exec(v);
  if (rel) {
    const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
    return (nowMs - Number(rel[1]) * mult[rel[2]]) * 1e6;
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t * 1e6;
}

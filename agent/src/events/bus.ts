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
  // dockerd's events.Filter.Include: every filter applies to every event. A `container=x` filter keeps only
  // events whose actor is x (by id, id prefix or name), so daemon, image and network events drop out too.
  const exact = (key: string, source: string): boolean => {
    const vals = f.get(key);
    return !vals || vals.length === 0 || vals.includes(source);
  };
  const fuzzy = (key: string, source: string): boolean =>
    exact(key, source) || (f.get(key) ?? []).some((p) => p !== '' && source.startsWith(p));
  const attrs = e.Actor.Attributes;
  const byName = (key: string) => fuzzy(key, e.Actor.ID) || fuzzy(key, attrs.name ?? '');
  const imageName = attrs[e.Type === 'image' ? 'name' : 'image'] ?? '';
  const stripTag = (ref: string) => ref.replace(/:[\w][\w.-]{0,127}$/, '');
  const image =
    exact('image', e.Actor.ID) ||
    exact('image', imageName) ||
    exact('image', stripTag(e.Actor.ID)) ||
    exact('image', stripTag(imageName));
  const health = ['health_status', 'exec_create', 'exec_start'];
  const event = (f.get('event') ?? []).some((v) => health.includes(v))
    ? fuzzy('event', e.Action)
    : exact('event', e.Action);
  const daemon = !f.has('daemon') || (e.Type === 'daemon' && byName('daemon'));
  const scope = !f.has('scope') || exact('scope', e.scope ?? '');
  const labels = (f.get('label') ?? []).every((v) => {
    const eq = v.indexOf('=');
    return eq < 0 ? attrs[v] !== undefined : attrs[v.slice(0, eq)] === v.slice(eq + 1);
  });
  return (
    event &&
    exact('type', e.Type) &&
    scope &&
    daemon &&
    byName('container') &&
    byName('volume') &&
    byName('network') &&
    image &&
    labels
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

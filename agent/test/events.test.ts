/** Event bus history, filters and timestamp parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus, eventMatches, parseTimestamp } from '../src/events/bus.js';

describe('EventBus', () => {
  it('delivers to subscribers and keeps history for since/until', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const off = bus.subscribe((e) => seen.push(e.Action));
    const a = bus.publish('container', 'create', 'abc', { name: 'web', image: 'busybox' });
    bus.publish('image', 'pull', 'busybox:latest');
    off();
    bus.publish('volume', 'create', 'v1');
    assert.deepEqual(seen, ['create', 'pull']);
    assert.equal(a.status, 'create');
    assert.equal(a.from, 'busybox');
    assert.equal(bus.since(0).length, 3);
    assert.equal(bus.since(a.timeNano, a.timeNano).length, 1);
  });

  it('filters like dockerd', () => {
    const bus = new EventBus();
    const c = bus.publish('container', 'start', 'abcdef', { name: 'web', 'com.x': 'y' });
    const v = bus.publish('volume', 'create', 'data');
    const f = (o: Record<string, string[]>) => new Map(Object.entries(o));
    assert.equal(eventMatches(c, f({ type: ['container'] })), true);
    assert.equal(eventMatches(v, f({ type: ['container'] })), false);
    assert.equal(eventMatches(c, f({ container: ['web'] })), true);
    assert.equal(eventMatches(c, f({ container: ['abc'] })), true);
    assert.equal(eventMatches(c, f({ container: ['other'] })), false);
    assert.equal(eventMatches(c, f({ label: ['com.x=y'] })), true);
    assert.equal(eventMatches(c, f({ label: ['com.x=z'] })), false);
    assert.equal(eventMatches(c, f({ event: ['start'] })), true);
  });
});

describe('parseTimestamp', () => {
  it('reads unix seconds with fractions, RFC 3339 and relative durations', () => {
    assert.equal(parseTimestamp('10'), 10e9);
    assert.equal(parseTimestamp('1.5'), 1.5e9);
    assert.equal(parseTimestamp('1970-01-01T00:00:02Z'), 2e9);
    assert.equal(parseTimestamp('1m', 120_000), 60_000 * 1e6);
    assert.equal(parseTimestamp('not a time'), undefined);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitToDisplays, MIN_SIZE } from '../src/window/state.js';

const primary = { x: 0, y: 0, width: 1920, height: 1080 };
const right = { x: 1920, y: 0, width: 1280, height: 1024 };

test('no saved bounds: centred default on the primary display', () => {
  const b = fitToDisplays(undefined, [primary]);
  assert.deepEqual(b, { x: 320, y: 140, width: 1280, height: 800 });
});

test('bounds on a display that is gone come back to the primary display', () => {
  const b = fitToDisplays({ x: 5000, y: 100, width: 1200, height: 700 }, [primary]);
  assert.ok(b.x >= 0 && b.x + b.width <= 1920);
});

test('bounds are kept on the display they overlap most, clamped inside it, never below the minimum', () => {
  const b = fitToDisplays({ x: 2900, y: 500, width: 600, height: 300 }, [primary, right]);
  assert.deepEqual([b.width, b.height], [MIN_SIZE.width, MIN_SIZE.height]);
  assert.ok(b.x >= right.x && b.x + b.width <= right.x + right.width);
  assert.ok(b.y + b.height <= right.height);
});

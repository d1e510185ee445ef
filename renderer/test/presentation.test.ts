/** What the dashboard shows for engine data: units as docker prints them, history lines, colours in logs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerSummary } from '@berth/common';
import { color256, hasAnsi, parseAnsi, type AnsiStyle } from '../src/stores/ansi.js';
import { bytes, historyInstruction, memory } from '../src/stores/format.js';
import { containersByNetwork } from '../src/stores/networks.js';
import { applyProgress, layerText, newTransfer } from '../src/stores/progress.js';

test('sizes in decimal units (docker images), memory in binary units (docker stats)', () => {
  assert.equal(bytes(1_982_357), '1.98 MB');
  assert.equal(memory(64 * 1024 * 1024), '64 MiB');
  assert.equal(memory(67_108_864 + 512 * 1024), '64.5 MiB');
  assert.equal(memory(2 * 1024 ** 3 - 59 * 1024 ** 2), '1.94 GiB');
  assert.equal(memory(512), '512 B');
  assert.equal(memory(undefined), '—');
});

test('a layer line keeps a space between its status and its size', () => {
  const t = newTransfer('busybox:latest');
  applyProgress(t, {
    id: 'l1',
    status: 'Downloading',
    progressDetail: { current: 21_000_000, total: 30_000_000 },
  });
  assert.equal(layerText(t.layers[0]), 'Downloading 21.0 MB / 30.0 MB');
  applyProgress(t, { id: 'l1', status: 'Pull complete' });
  assert.equal(layerText(t.layers[0]), 'Pull complete');
});

test('history lines read as Dockerfile instructions; a layer without one says so', () => {
  const ins = (CreatedBy: string, Comment = '') => historyInstruction({ CreatedBy, Comment });
  assert.deepEqual(ins('/bin/sh -c #(nop)  CMD ["sh"]'), { text: 'CMD ["sh"]', recorded: true });
  assert.deepEqual(ins('/bin/sh -c apk add curl'), { text: 'RUN apk add curl', recorded: true });
  assert.deepEqual(ins('RUN /bin/sh -c make # buildkit'), { text: 'RUN make', recorded: true });
  assert.deepEqual(ins('ADD alpine.tar.gz / # buildkit'), { text: 'ADD alpine.tar.gz /', recorded: true });
  assert.equal(ins('').recorded, false);
  assert.match(ins('').text, /no instruction recorded/);
  assert.deepEqual(ins('', 'Imported from -'), { text: 'Imported from -', recorded: false });
});

test('the Networks view counts containers from the container list', () => {
  const c = (name: string, nets: string[]) =>
    ({
      Id: name.padEnd(64, '0'),
      Names: [`/${name}`],
      NetworkSettings: { Networks: Object.fromEntries(nets.map((n) => [n, {}])) },
    }) as unknown as ContainerSummary;
  const m = containersByNetwork([c('web', ['bridge', 'app']), c('db', ['app']), c('solo', ['none'])]);
  assert.deepEqual(m.get('app'), ['web', 'db']);
  assert.deepEqual(m.get('bridge'), ['web']);
  assert.equal(m.get('host'), undefined);
});

test('ANSI colours become styled segments; other escapes are dropped; the style spans lines', () => {
  const st: AnsiStyle = {};
  assert.deepEqual(parseAnsi('\x1b[1;31mERROR\x1b[0m disk full', st), [
    { text: 'ERROR', style: { bold: true, fg: 1 } },
    { text: ' disk full', style: {} },
  ]);
  assert.deepEqual(parseAnsi('\x1b[32mgreen starts', st), [{ text: 'green starts', style: { fg: 2 } }]);
  assert.deepEqual(parseAnsi('still green\x1b[39m', st), [{ text: 'still green', style: { fg: 2 } }]);
  assert.deepEqual(st, {});
  assert.deepEqual(parseAnsi('\x1b[38;5;208morange\x1b[48;2;1;2;3m on rgb', {}), [
    { text: 'orange', style: { fg: color256(208) } },
    { text: ' on rgb', style: { fg: color256(208), bg: 'rgb(1, 2, 3)' } },
  ]);
  assert.equal(color256(208), 'rgb(255, 135, 0)');
  assert.equal(color256(244), 'rgb(128, 128, 128)');
  assert.deepEqual(parseAnsi('\x1b]0;title\x07\x1b[2K\x1b[1Gclean\x1b[?25h', {}), [
    { text: 'clean', style: {} },
  ]);
  assert.deepEqual(parseAnsi('10%\r50%\r100% done', {}), [{ text: '100% done', style: {} }]);
  assert.equal(hasAnsi('plain line\twith a tab'), false);
  assert.equal(hasAnsi('\x1b[0m'), true);
});

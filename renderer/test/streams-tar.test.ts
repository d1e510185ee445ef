import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDemuxer, LineSplitter, NdjsonDecoder } from '../src/api/streams.js';
import { createTar, parseTar } from '../src/api/tar.js';

const enc = new TextEncoder();

test('ndjson: lines split anywhere, CRLF and blank lines tolerated', () => {
  const d = new NdjsonDecoder<{ a: number }>();
  assert.deepEqual(d.push(enc.encode('{"a":1}\r\n{"a"')), [{ a: 1 }]);
  assert.deepEqual(d.push(enc.encode(':2}\n\n')), [{ a: 2 }]);
  assert.deepEqual(d.push(enc.encode('{"a":3}')), []);
  assert.deepEqual(d.flush(), [{ a: 3 }]);
});

test('frame demuxer waits for split headers and bodies', () => {
  const d = new FrameDemuxer();
  const body = enc.encode('hello');
  const f = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 5, ...body, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(d.push(f.subarray(0, 3)), []);
  const got = d.push(f.subarray(3));
  assert.equal(got.length, 2);
  assert.equal(got[0].stream, 'stderr');
  assert.equal(new TextDecoder().decode(got[0].data), 'hello');
  assert.equal(got[1].data.length, 0);
});

test('line splitter keeps partial lines', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('a\r\nb'), ['a']);
  assert.deepEqual(s.push('c\n'), ['bc']);
  assert.deepEqual(s.flush(), []);
});

test('tar written by createTar reads back, including long names (ustar prefix)', () => {
  const long = 'deep/' + 'x'.repeat(60) + '/' + 'y'.repeat(60) + '/file.txt';
  const tar = createTar([
    { name: 'Dockerfile', data: enc.encode('FROM busybox\n') },
    { name: long, data: new Uint8Array(700).fill(65), mode: 0o755 },
  ]);
  assert.equal(tar.length % 512, 0);
  const entries = parseTar(tar, true);
  assert.deepEqual(
    entries.map((e) => [e.name, e.size, e.type]),
    [
      ['Dockerfile', 13, 'file'],
      [long, 700, 'file'],
    ],
  );
  assert.equal(entries[1].mode, 0o755);
  assert.equal(new TextDecoder().decode(entries[0].data), 'FROM busybox\n');
});

test('tar refuses a name it cannot represent', () => {
  assert.throws(() => createTar([{ name: 'z'.repeat(120), data: new Uint8Array() }]), /too long/);
});

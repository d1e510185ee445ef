/** The host end of the engine port: the token goes first on every connection, and /_ping readiness. */
import assert from 'node:assert/strict';
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HOST_TOKEN_ACK, hostTokenPreamble } from '@berth/common';
import { dialEngine, EngineDialer } from '../src/tunnel/engine-dialer.js';
import { ensureHostToken, pingEngine } from '../src/tunnel/engine-tcp.js';

/**
 * A stand-in engine: acknowledges the exact preamble and answers /_ping, else closes (as berthd's gate does).
 * The first `resetFirst` connections are reset at once, as QEMU's user network does when its backlog of 1
 * overflows.
 */
async function gatedEngine(
  preamble: Uint8Array,
  resetFirst = 0,
): Promise<{ port: number; seen: string[]; connections: () => number; close(): void }> {
  const seen: string[] = [];
  let connections = 0;
  const server = net.createServer((s) => {
    if (connections++ < resetFirst) return void s.resetAndDestroy();
    let buf = Buffer.alloc(0);
    let acked = false;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < preamble.length) return;
      if (!buf.subarray(0, preamble.length).equals(Buffer.from(preamble))) return s.destroy();
      if (!acked) s.write(HOST_TOKEN_ACK);
      acked = true;
      const rest = buf.subarray(preamble.length).toString();
      if (!rest.includes('\r\n\r\n')) return;
      seen.push(rest.split('\r\n')[0]);
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    connections: () => connections,
    close: () => server.close(),
  };
}

describe('engine port (host side)', () => {
  it('creates the per-install token once, 0600, and keeps it', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'berth-tok-'));
    try {
      const f = path.join(d, 'keys', 'engine-token');
      const t = await ensureHostToken(f);
      assert.match(t, /^[0-9a-f]{64}$/);
      assert.equal(statSync(f).mode & 0o777, 0o600);
      assert.equal(await ensureHostToken(f), t);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('pings and dials with the token first; a wrong token or a closed port is "not ready"', async () => {
    const token = 'ab'.repeat(32);
    const pre = hostTokenPreamble(token);
    const e = await gatedEngine(pre);
    try {
      assert.equal(await pingEngine(e.port, pre), true);
      assert.equal(await pingEngine(e.port, hostTokenPreamble('cd'.repeat(32))), false);
      const s = await dialEngine(e.port, pre);
      const got = await new Promise<string>((resolve) => {
        let b = '';
        s.on('data', (d: Buffer) => (b += d.toString()));
        s.on('end', () => resolve(b));
        s.resume();
        s.end('GET /v1.44/version HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      assert.match(got, /200 OK/);
      assert.deepEqual(e.seen, ['GET /_ping HTTP/1.1', 'GET /v1.44/version HTTP/1.1']);
    } finally {
      e.close();
    }
    assert.equal(await pingEngine(e.port, pre, 500), false);
  });

  it('a connection reset before the acknowledgement is dialled again; nothing of the client is lost', async () => {
    const pre = hostTokenPreamble('ef'.repeat(32));
    const e = await gatedEngine(pre, 5);
    try {
      const socks = await Promise.all(Array.from({ length: 8 }, () => dialEngine(e.port, pre)));
      const answers = await Promise.all(
        socks.map(
          (s, i) =>
            new Promise<string>((resolve) => {
              let b = '';
              s.on('data', (d: Buffer) => (b += d.toString()));
              s.on('end', () => resolve(b));
              s.resume();
              s.end(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
            }),
        ),
      );
      assert.ok(
        answers.every((a) => a.startsWith('HTTP/1.1 200 OK')),
        answers.join('|'),
      );
      assert.equal(e.seen.length, 8, 'each request reached the engine exactly once');
      assert.equal(e.connections(), 13, '5 resets, then 8 good connections');
    } finally {
      e.close();
    }
  });

  it('gives up with a clear error when nothing acknowledges in time', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      await assert.rejects(dialEngine(port, hostTokenPreamble('ab'.repeat(32)), 1200), /did not acknowledge/);
    } finally {
      silent.close();
    }
  });

  it('a tunnel dials one connection at a time (QEMU listens with a backlog of 1) and keeps spares ready', async () => {
    const pre = hostTokenPreamble('12'.repeat(32));
    let pending = 0;
    let maxPending = 0;
    let total = 0;
    const server = net.createServer((s) => {
      total++;
      maxPending = Math.max(maxPending, ++pending);
      let acked = false;
      s.on('data', () => {
        // The guest acknowledges a little later, as a busy one would.
        if (!acked) setTimeout(() => (pending--, s.write(HOST_TOKEN_ACK)), 5);
        acked = true;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const dialer = new EngineDialer((server.address() as net.AddressInfo).port, pre, { spares: 2 });
    try {
      const socks = await Promise.all(Array.from({ length: 16 }, () => dialer.dial()));
      assert.equal(new Set(socks).size, 16);
      assert.equal(maxPending, 1, 'never two connects in flight');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(total, 18, 'two spares dialled ahead');
      const t0 = Date.now();
      socks.push(await dialer.dial());
      assert.ok(Date.now() - t0 < 5, 'a spare is handed out at once');
      for (const s of socks) s.destroy();
    } finally {
      dialer.close();
      server.close();
    }
  });
});

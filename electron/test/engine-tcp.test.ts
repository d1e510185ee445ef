/** The host end of the engine port: the token goes first on every connection, and /_ping readiness. */
import assert from 'node:assert/strict';
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostTokenPreamble } from '@berth/common';
import { dialEngine, ensureHostToken, pingEngine } from '../src/tunnel/engine-tcp.js';

/** A stand-in engine: answers /_ping only after the exact preamble, else closes (as berthd's gate does). */
async function gatedEngine(preamble: Uint8Array): Promise<{ port: number; seen: string[]; close(): void }> {
  const seen: string[] = [];
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < preamble.length) return;
      if (!buf.subarray(0, preamble.length).equals(Buffer.from(preamble))) return s.destroy();
      const rest = buf.subarray(preamble.length).toString();
      if (!rest.includes('\r\n\r\n')) return;
      seen.push(rest.split('\r\n')[0]);
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => server.close() };
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
        s.end('GET /v1.44/version HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      assert.match(got, /200 OK/);
      assert.deepEqual(e.seen, ['GET /_ping HTTP/1.1', 'GET /v1.44/version HTTP/1.1']);
    } finally {
      e.close();
    }
    assert.equal(await pingEngine(e.port, pre, 500), false);
  });
});

/** The host-token preamble in front of berthd's TCP listener: real sockets, the real API server. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Router } from '../src/api/router.js';
import { createApiServer } from '../src/api/server.js';
import { hostTokenPreamble } from '@berth/common';
import { readTokenFile, requireToken } from '../src/api/token-gate.js';
import { createLogger } from '../src/log.js';

const token = randomBytes(32).toString('hex');
const tokenPreamble = (t: string) => Buffer.from(hostTokenPreamble(t));
const PING = 'GET /_ping HTTP/1.1\r\nHost: berth\r\n\r\n';

/** Writes each chunk (with a pause between), then collects what comes back until the server closes. */
function exchange(port: number, chunks: (string | Buffer)[], gapMs = 20, endAfter = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      // Keep-alive: resolve once every request sent has its answer.
      if (
        !endAfter &&
        (got.match(/\r\n\r\nOK/g) ?? []).length >= chunks.filter((c) => c.toString().includes('GET ')).length
      )
        s.destroy();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    const writeAll = async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      if (endAfter) s.end();
    };
    s.on('connect', () => {
      writeAll().catch(reject);
    });
  });
}

describe('host token gate', () => {
  let server: http.Server;
  let port: number;
  let handled = 0;
  before(async () => {
    const router = new Router().get('/_ping', ({ res }) => {
      handled++;
      res.end('OK');
    });
    server = createApiServer(router, createLogger(), 'test');
    requireToken(server, token, createLogger(), 300);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('acknowledges the token, then passes a request sent in the same packet', async () => {
    const got = await exchange(port, [Buffer.concat([tokenPreamble(token), Buffer.from(PING)])], 20, false);
    assert.match(got, /^ok\nHTTP\/1\.1 200 OK/);
    assert.match(got, /\r\n\r\nOK$/);
  });

  it('passes a token split over packets, then keeps the connection for several requests', async () => {
    const pre = tokenPreamble(token);
    const got = await exchange(port, [pre.subarray(0, 10), pre.subarray(10), PING, PING], 30, false);
    assert.equal((got.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, got);
  });

  it('closes connections without the right token before any HTTP is parsed', async () => {
    const before = handled;
    const wrong = randomBytes(32).toString('hex');
    assert.equal(await exchange(port, [Buffer.concat([tokenPreamble(wrong), Buffer.from(PING)])]), '');
    // Plain HTTP (longer than the preamble) is taken as a bad token, not as a request.
    assert.equal(await exchange(port, [PING + PING]), '');
    assert.equal(await exchange(port, ['short']), '', 'closed before a whole preamble');
    assert.equal(
      await exchange(port, [token.slice(0, 20)], 600, false),
      '',
      'timed out waiting for the token',
    );
    assert.equal(handled, before, 'no request reached the router');
  });

  it('reads only well-formed token files', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'berth-token-'));
    try {
      writeFileSync(path.join(d, 'ok'), `${token}\n`);
      assert.equal(readTokenFile(path.join(d, 'ok')), token);
      writeFileSync(path.join(d, 'bad'), 'secret');
      assert.throws(() => readTokenFile(path.join(d, 'bad')), /64 lowercase hex digits/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

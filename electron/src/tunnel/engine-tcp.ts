/**
 * The host end of the VM's engine port: berthd listens on the guest's eth0 behind a per-install token, and
 * the driver publishes that port on the host's loopback (the endpoint's `engine`). Every connection sends the token first (see
 * agent/src/api/token-gate.ts); the token file stays 0600 under ~/.berth/keys.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HOST_TOKEN_ACK, HOST_TOKEN_RE, hostTokenPreamble } from '@berth/common';
import { writeFileAtomic } from '../settings/store.js';
import type { EngineTcp } from '../vm/driver.js';

/** Reads the token, creating it on first use (32 random bytes as hex, mode 0600). */
export async function ensureHostToken(file: string): Promise<string> {
  try {
    const t = (await fsp.readFile(file, 'utf8')).trim();
    if (HOST_TOKEN_RE.test(t)) return t;
  } catch {
    /* first run */
  }
  const t = randomBytes(32).toString('hex');
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${t}\n`);
  await fsp.chmod(file, 0o600);
  return t;
}

export async function enginePreamble(e: EngineTcp): Promise<Uint8Array> {
  return hostTokenPreamble((await fsp.readFile(e.tokenFile, 'utf8')).trim());
}

/**
 * One attempt: connect, send the token, wait for berthd's acknowledgement. The socket comes back paused (bytes
 * after the acknowledgement wait in it): pipe it, or resume it once listening.
 */
export function dialOnce(port: number, preamble: Uint8Array, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    let got = Buffer.alloc(0);
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new Error(`the engine on port ${port} did not acknowledge the token in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < HOST_TOKEN_ACK.length) return;
      if (!got.subarray(0, HOST_TOKEN_ACK.length).equals(HOST_TOKEN_ACK))
        return fail(new Error('the engine port answered something other than the token acknowledgement'));
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', fail);
      s.off('end', onEnd);
      s.pause();
      const rest = got.subarray(HOST_TOKEN_ACK.length);
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    const onEnd = () =>
      fail(new Error('the engine port closed the connection before acknowledging the token'));
    s.once('connect', () => s.write(preamble));
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', fail);
  });
}

/**
 * One GET /_ping through the engine port; true only for the acknowledgement and then `200 OK`. A user-mode
 * network accepts on the host side before the guest does, so a guest that is not listening yet shows up as a quick close
 * (or this attempt's timeout).
 */
export function pingEngine(port: number, preamble: Uint8Array, timeoutMs = 1000): Promise<boolean> {
  const ack = Buffer.from(HOST_TOKEN_ACK).toString('latin1');
  const ok = (got: string) =>
    got.startsWith(ack) && /^HTTP\/1\.[01] 200 /.test(got.slice(ack.length)) && /\r\n\r\nOK$/.test(got);
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let got = '';
    const done = (r: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () =>
      s.write(
        Buffer.concat([
          preamble,
          Buffer.from('GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n'),
        ]),
      ),
    );
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (ok(got)) done(true);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(ok(got)));
  });
}

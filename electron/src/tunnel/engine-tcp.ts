/**
 * The host end of the VM's engine port: berthd listens on the guest's eth0 behind a per-install token, and
 * QEMU publishes that port on the host's loopback. Every connection sends the token first (see
 * agent/src/api/token-gate.ts); the token file stays 0600 under ~/.berth/keys.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HOST_TOKEN_RE, hostTokenPreamble } from '@berth/common';
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

/** A connection to the engine with the token already sent (what the host socket pipes each client into). */
export function dialEngine(port: number, preamble: Uint8Array, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(
      () => s.destroy(new Error(`the engine port ${port} did not accept in ${timeoutMs} ms`)),
      timeoutMs,
    );
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', reject);
      s.write(preamble);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * One GET /_ping through the engine port; true only for `200 OK`. QEMU accepts on the host side before the
 * guest does, so a guest that is not listening yet shows up as a quick close (or this attempt's timeout).
 */
export function pingEngine(port: number, preamble: Uint8Array, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let got = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
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
      if (/^HTTP\/1\.[01] 200 /.test(got) && /\r\n\r\nOK$/.test(got)) done(true);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(/^HTTP\/1\.[01] 200 /.test(got) && /\r\n\r\nOK$/.test(got)));
  });
}

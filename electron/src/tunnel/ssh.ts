/** SSH connections to the guest (ssh2): connect with retries while it boots, run a command, open channels. */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { SshEndpoint } from '../vm/driver.js';
import { tofuVerifier } from './keys.js';

export type { SshEndpoint };
export type SshClient = ssh2.Client;

/** Reads and checks the private key once, so a bad key file fails at once and says so. */
function loadKey(file: string): Buffer {
  const key = readFileSync(file);
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error)
    throw new Error(
      `the Berth SSH key ${file} is unreadable (${parsed.message}); delete ~/.berth/keys and run berth reset`,
    );
  return key;
}

export function connectOnce(
  ep: SshEndpoint,
  timeoutMs = 5000,
  privateKey: Buffer = loadKey(ep.privateKey),
): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let settled = false;
    // ssh2 may emit several errors for one failed attempt, and more after a good one when the guest
    // powers off (surfacing as 'close'): one permanent listener keeps them from throwing.
    c.on('error', (err: Error) => {
      if (settled) return;
      settled = true;
      c.end();
      reject(err);
    });
    c.once('ready', () => {
      if (settled) return;
      settled = true;
      resolve(c);
    });
    c.connect({
      host: ep.host,
      port: ep.port,
      username: ep.user,
      privateKey,
      hostVerifier: tofuVerifier(ep.knownHost),
      readyTimeout: timeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
    });
  });
}

/** Retries until the guest's SSH server answers or `deadline` passes; `alive()` false aborts early. */
export async function connectWithRetry(
  ep: SshEndpoint,
  deadline: number,
  alive: () => boolean = () => true,
): Promise<ssh2.Client> {
  let last: Error | undefined;
  const key = loadKey(ep.privateKey);
  let attempts = 0;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the VM stopped while waiting for it${last ? ` (${last.message})` : ''}`);
    attempts++;
    try {
      // A loaded host slows the guest's key exchange under TCG: give each attempt room.
      return await connectOnce(ep, Math.max(2000, Math.min(30_000, deadline - Date.now())), key);
    } catch (err) {
      last = err as Error;
      if (/verification failed/i.test(last.message))
        throw new Error(
          'the VM presented a different SSH host key than recorded; run `berth reset` if the VM was recreated',
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(
    `the VM's SSH server did not answer in time (${attempts} attempts)${last ? `: ${last.message}` : ''}`,
  );
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(c: ssh2.Client, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('close', (code: number | null) => resolve({ code: code ?? 255, stdout, stderr }));
    });
  });
}

/** A TCP connection from inside the guest to `host:port` there (direct-tcpip; default its own loopback). */
export function dialGuest(c: ssh2.Client, port: number, host = '127.0.0.1'): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    c.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
  });
}

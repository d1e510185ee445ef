/** The per-install SSH identity the host uses to reach the guest, and trust-on-first-use of the guest's key. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../settings/store.js';

export interface KeyPair {
  privateKey: string;
  /** `ssh-ed25519 AAAA… berth` */
  publicKey: string;
}

/** Creates the key pair on first use (ed25519, OpenSSH format, private key mode 0600). */
export async function ensureKeyPair(privatePath: string, publicPath: string): Promise<KeyPair> {
  try {
    return {
      privateKey: await fsp.readFile(privatePath, 'utf8'),
      publicKey: (await fsp.readFile(publicPath, 'utf8')).trim(),
    };
  } catch {
    /* first run */
  }
  const kp = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'berth' });
  await fsp.mkdir(path.dirname(privatePath), { recursive: true, mode: 0o700 });
  await writeFileAtomic(privatePath, kp.private);
  await writeFileAtomic(publicPath, kp.public.trim() + '\n');
  await fsp.chmod(publicPath, 0o644);
  return { privateKey: kp.private, publicKey: kp.public.trim() };
}

/** The base64 key blob of an OpenSSH public key line (what the guest's kernel command line carries). */
export function keyBlob(publicKey: string): string {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/=]+)/.exec(publicKey.trim());
  if (!m)
    throw new Error('the Berth SSH key is not an ssh-ed25519 key; delete ~/.berth/keys to make a new one');
  return m[1];
}

export function fingerprint(hostKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '');
}

/**
 * An ssh2 hostVerifier: the first key seen is recorded; later connections must present the same key.
 * (The guest keeps its host key on the data disk, so only a factory reset changes it, and reset removes
 * the record too.)
 */
export function tofuVerifier(knownHostFile: string): (key: Buffer) => boolean {
  return (key: Buffer) => {
    const fp = fingerprint(key);
    if (existsSync(knownHostFile)) return readFileSync(knownHostFile, 'utf8').trim() === fp;
    mkdirSync(path.dirname(knownHostFile), { recursive: true });
    writeFileSync(knownHostFile, fp + '\n', { mode: 0o600 });
    return true;
  };
}

/** Runs nftables scripts (`nft -f -`): one transaction per script, the kernel's error text on failure. */
import { spawn } from 'node:child_process';

export class NftError extends Error {}

export function nft(script: string, args: string[] = ['-f', '-']): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('nft', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', (e) => reject(new NftError(`nft: ${e.message}`)));
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new NftError(`nft failed (${code}): ${Buffer.concat(err).toString().trim()}`));
    });
    // nft may exit before reading stdin (a list command, an early error): its exit code tells, not EPIPE.
    p.stdin.on('error', () => undefined);
    p.stdin.end(script);
  });
}

/** The table's ruleset as `nft list table` prints it, or undefined when it does not exist. */
export async function listTable(table: string): Promise<string | undefined> {
  try {
    return await nft('', ['list', 'table', 'ip', table]);
  } catch {
    return undefined;
  }
}

/** Content-addressed blobs: blobs/sha256/<hex>. Written under a temp name, verified, then renamed. */
import { createHash, randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';

export class BlobStore {
  readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = path.join(dataRoot, 'blobs', 'sha256');
  }

  async load(): Promise<{ removedTemps: number }> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    let removedTemps = 0;
    for (const name of await fsp.readdir(this.dir)) {
      if (name.startsWith('.tmp-')) {
        await fsp.rm(path.join(this.dir, name), { force: true });
        removedTemps++;
      }
    }
    return { removedTemps };
  }

  path(digest: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`invalid digest ${digest}`);
    return path.join(this.dir, digest.slice(7));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  tempPath(): string {
    return path.join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
  }

  /** Moves a verified temp file into place (a concurrent writer of the same digest is harmless). */
  async commit(temp: string, digest: string): Promise<void> {
    await fsp.rename(temp, this.path(digest));
  }

  async put(data: Buffer | string): Promise<string> {
    const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
    if (this.has(digest)) return digest;
    const tmp = this.tempPath();
    try {
      await fsp.writeFile(tmp, data, { mode: 0o644 });
      await this.commit(tmp, digest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return digest;
  }

  async read(digest: string): Promise<Buffer> {
    return fsp.readFile(this.path(digest));
  }

  async size(digest: string): Promise<number> {
    return (await fsp.stat(this.path(digest))).size;
  }

  open(digest: string): fs.ReadStream {
    return fs.createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
  }

  async list(): Promise<string[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }

  async remove(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }
}

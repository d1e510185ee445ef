/**
 * Stages an untrusted image archive (docker load input) on disk. Entry names never become paths: each file
 * is written to a flat, numbered staging file and looked up by its cleaned archive name, so `../`, absolute
 * names and symlinks cannot reach anything outside the staging directory. Symlinks and hardlinks between
 * entries (older docker save output dedupes layer.tar that way) are resolved by name, inside the archive only.
 */
import { promises as fsp } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { drainedOrClosed } from '@berth/common/streams';
import { TarFormatError, TarParser, type TarEntry } from '../../storage/tar-parse.js';
import { EngineError } from '../../errors.js';

export class ArchiveError extends EngineError {
  constructor(message: string) {
    super('InvalidParameter', message);
    this.name = 'ArchiveError';
  }
}

type Node = { kind: 'file'; file: string; size: number } | { kind: 'link'; target: string };

/** `./a//b/` → `a/b`; refuses absolute names and `..` (an archive has no business naming them). */
export function cleanName(name: string): string {
  if (name.startsWith('/'))
    throw new ArchiveError(`invalid archive: entry ${JSON.stringify(name)} is an absolute path`);
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..')
      throw new ArchiveError(`invalid archive: entry ${JSON.stringify(name)} points outside the archive`);
    parts.push(c);
  }
  return parts.join('/');
}

export class StagedArchive {
  private readonly nodes = new Map<string, Node>();
  private count = 0;

  private constructor(readonly dir: string) {}

  /** Reads the whole archive (plain or gzip tar) into `dir`, which must exist and be empty. */
  static async fromStream(src: Readable, dir: string): Promise<StagedArchive> {
    const staged = new StagedArchive(dir);
    await staged.consume(src);
    return staged;
  }

  private async consume(src: Readable): Promise<void> {
    let fd: number | undefined;
    const sink = {
      entry: (e: TarEntry) => {
        const name = cleanName(e.name);
        if (e.type === 'dir') return;
        if (name === '')
          throw new ArchiveError(`invalid archive: entry ${JSON.stringify(e.name)} has no name`);
        if (e.type === 'symlink') {
          // Resolved relative to the link's directory, still inside the archive.
          const target = e.linkname.startsWith('/')
            ? e.linkname
            : path.posix.join(path.posix.dirname(name), e.linkname);
          this.nodes.set(name, { kind: 'link', target: cleanName(target) });
          return;
        }
        if (e.type === 'hardlink') {
          this.nodes.set(name, { kind: 'link', target: cleanName(e.linkname) });
          return;
        }
        if (e.type !== 'file')
          throw new ArchiveError(
            `invalid archive: entry ${JSON.stringify(e.name)} is a ${e.type} device or fifo`,
          );
        const file = path.join(this.dir, `f-${this.count++}`);
        fd = fs.openSync(file, 'w', 0o600);
        this.nodes.set(name, { kind: 'file', file, size: e.size });
      },
      data: (chunk: Buffer) => {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd!, chunk, off, chunk.length - off);
      },
      entryEnd: () => {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
      },
    };
    const parser = new TarParser(sink);
    try {
      let sawData = false;
      for await (const chunk of await decompressed(src)) {
        sawData = true;
        parser.write(chunk as Buffer);
      }
      if (!sawData)
        throw new ArchiveError(
          'invalid archive: the request body is empty (pipe a docker save tar into docker load)',
        );
      parser.end();
    } catch (err) {
      if (err instanceof TarFormatError)
        throw new ArchiveError(
          `invalid archive: not a valid tar file (${err.message.replace(/the layer archive/, 'the archive')})`,
        );
      if ((err as NodeJS.ErrnoException).code?.startsWith('Z_'))
        throw new ArchiveError(`invalid archive: gzip data is corrupt (${(err as Error).message})`);
      throw err;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /** The staging file for an archive name, following links within the archive; undefined when absent. */
  lookup(name: string): { file: string; size: number } | undefined {
    let n = cleanName(name);
    for (let hops = 0; hops < 16; hops++) {
      const node = this.nodes.get(n);
      if (!node) return undefined;
      if (node.kind === 'file') return node;
      n = node.target;
    }
    throw new ArchiveError(`invalid archive: too many levels of links at ${JSON.stringify(name)}`);
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** A file that must exist (`what` names it in the error). */
  need(name: string, what: string): { file: string; size: number } {
    const f = this.lookup(name);
    if (!f) throw new ArchiveError(`invalid archive: ${what} ${JSON.stringify(name)} is missing`);
    return f;
  }

  async read(name: string, what: string, max = 16 << 20): Promise<Buffer> {
    const f = this.need(name, what);
    if (f.size > max)
      throw new ArchiveError(
        `invalid archive: ${what} ${JSON.stringify(name)} is too large (${f.size} bytes)`,
      );
    return fsp.readFile(f.file);
  }

  async readJson<T>(name: string, what: string): Promise<T> {
    const raw = await this.read(name, what);
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch (err) {
      throw new ArchiveError(
        `invalid archive: ${what} ${JSON.stringify(name)} is not valid JSON (${(err as Error).message})`,
      );
    }
  }
}

/** Plain or gzip tar (as dockerd's DecompressStream, minus bzip2/xz which nothing we know sends). */
async function decompressed(src: Readable): Promise<Readable> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : (first.value as Buffer);
  const rest = new PassThrough();
  void (async () => {
    try {
      if (head.length) rest.write(head);
      for (let r = await it.next(); !r.done; r = await it.next()) {
        // A refused archive stops its reader, but the request is still read to its end (and dropped), or the
        // client would wait forever for the answer to a body it has not finished sending.
        if (rest.destroyed) continue;
        if (!rest.write(r.value as Buffer)) await drainedOrClosed(rest);
      }
      rest.end();
    } catch (err) {
      rest.destroy(err as Error);
    }
  })();
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gz = zlib.createGunzip();
    rest.on('error', (err) => gz.destroy(err));
    gz.on('close', () => rest.destroy());
    return rest.pipe(gz);
  }
  if (
    head.subarray(0, 3).toString('latin1') === 'BZh' ||
    head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
  )
    throw new ArchiveError(
      'invalid archive: bzip2 and xz compressed archives are not supported; decompress it first or use gzip',
    );
  return rest;
}

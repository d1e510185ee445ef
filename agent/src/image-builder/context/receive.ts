/**
 * Receives a build context (the tar the docker CLI streams in POST /build) onto disk, hashing every file
 * while it streams by, so a fully cached build never reads the context twice. File contents go, in order,
 * into one data file (one sequential write instead of thousands of small files); the index keeps each
 * file's offset. Untrusted input: names are cleaned, `..` refused, nothing is ever placed below a symlink
 * (each parent must be a directory of the context), device nodes are dropped. Since no entry is ever
 * materialized as a host path, no symlink in the context can be followed on the host.
 * A body that is not a tar is taken as a bare Dockerfile.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { TarParser, type TarEntry, type TarSink } from '../../storage/tar-parse.js';

export class ContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContextError';
  }
}

export type ContextEntryType = 'file' | 'dir' | 'symlink';

export interface ContextEntry {
  type: ContextEntryType;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
  linkname: string;
  /** sha256 hex of the content (files only) */
  hash: string;
  /** where the content starts in the context's data file (files only) */
  offset: number;
}

export interface BuildContext {
  /** temp directory of this context (holds the data file) */
  root: string;
  /** every file's content, back to back */
  dataFile: string;
  /** every entry by slash-separated relative path ('' is the root directory) */
  entries: Map<string, ContextEntry>;
  /** bytes of file data received */
  size: number;
  /** deletes root; a plain function, so it can be handed on detached */
  remove: () => Promise<void>;
}

const GZIP = [0x1f, 0x8b];
const BZIP2 = [0x42, 0x5a, 0x68];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(b: Buffer, sig: number[]): boolean {
  return b.length >= sig.length && sig.every((x, i) => b[i] === x);
}

function looksLikeTar(b: Buffer): boolean {
  if (b.length < 512)
    return b.length === 0 || b.every((x) => x === 0) || b.toString('latin1', 257, 262) === 'ustar';
  if (b.subarray(0, 512).every((x) => x === 0)) return true;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i];
  const want = parseInt(b.toString('latin1', 148, 156).replace(/[\0 ]/g, ''), 8);
  return want === sum;
}

class ContextSink implements TarSink {
  readonly entries = new Map<string, ContextEntry>();
  size = 0;
  private hash: Hash | undefined;
  private current: ContextEntry | undefined;
  private readonly fd: number;

  constructor(readonly dataFile: string) {
    this.fd = fs.openSync(
      dataFile,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL,
      0o600,
    );
    this.entries.set('', dirEntry(0o755, 0));
  }

  private clean(name: string): string {
    const parts: string[] = [];
    for (const c of name.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..')
        throw new ContextError(
          `invalid path in build context: ${JSON.stringify(name)} points outside the context`,
        );
      parts.push(c);
    }
    return parts.join('/');
  }

  /** Makes sure every parent of `rel` is a directory of the context (implicit when the tar did not list it). */
  private parents(rel: string): void {
    let i = rel.indexOf('/');
    while (i >= 0) {
      const cur = rel.slice(0, i);
      const e = this.entries.get(cur);
      if (e === undefined) this.entries.set(cur, dirEntry(0o755, 0));
      else if (e.type !== 'dir')
        throw new ContextError(
          `invalid build context: ${JSON.stringify(rel)} is below ${JSON.stringify(cur)}, which is not a directory`,
        );
      i = rel.indexOf('/', i + 1);
    }
  }

  private replace(rel: string): void {
    const old = this.entries.get(rel);
    if (old === undefined) return;
    if (old.type === 'dir')
      for (const k of [...this.entries.keys()]) if (k.startsWith(rel + '/')) this.entries.delete(k);
    this.entries.delete(rel);
  }

  entry(e: TarEntry): void {
    const rel = this.clean(e.name);
    if (rel === '') return;
    this.parents(rel);
    const base = {
      mode: e.mode & 0o7777,
      size: 0,
      mtime: e.mtime,
      uid: e.uid,
      gid: e.gid,
      linkname: '',
      hash: '',
      offset: 0,
    };
    switch (e.type) {
      case 'dir': {
        const old = this.entries.get(rel);
        if (old?.type === 'dir') {
          old.mode = base.mode;
          old.mtime = base.mtime;
          return;
        }
        this.replace(rel);
        this.entries.set(rel, { type: 'dir', ...base });
        return;
      }
      case 'file': {
        this.replace(rel);
        this.hash = createHash('sha256');
        const entry: ContextEntry = { type: 'file', ...base, size: e.size, offset: this.size };
        this.current = entry;
        this.entries.set(rel, entry);
        return;
      }
      case 'symlink':
        // Kept as a link in the index: COPY resolves it inside the context and never follows it out.
        this.replace(rel);
        this.entries.set(rel, { type: 'symlink', ...base, linkname: e.linkname });
        return;
      case 'hardlink': {
        const target = this.clean(e.linkname);
        const t = this.entries.get(target);
        if (t?.type !== 'file')
          throw new ContextError(
            `invalid build context: hardlink ${JSON.stringify(e.name)} points to ${JSON.stringify(e.linkname)}, which is not a file in the context`,
          );
        if (target === rel) return;
        this.replace(rel);
        this.entries.set(rel, { ...t });
        return;
      }
      default:
        return; // devices and fifos have no place in a build context
    }
  }

  data(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off);
    this.hash!.update(chunk);
    this.size += chunk.length;
  }

  entryEnd(): void {
    if (!this.current) return;
    this.current.hash = this.hash!.digest('hex');
    this.current = undefined;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function dirEntry(mode: number, mtime: number): ContextEntry {
  return { type: 'dir', mode, size: 0, mtime, uid: 0, gid: 0, linkname: '', hash: '', offset: 0 };
}

/** Reads one file of a received context (Dockerfile, .dockerignore, archive heads). */
export async function readContextFile(ctx: BuildContext, e: ContextEntry, max = e.size): Promise<Buffer> {
  const fh = await fsp.open(ctx.dataFile, 'r');
  try {
    const n = Math.min(max, e.size);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, e.offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

function decompressor(first: Buffer): NodeJS.ReadWriteStream | undefined {
  if (startsWith(first, GZIP)) return zlib.createGunzip();
  if (startsWith(first, ZSTD)) {
    const z = zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream };
    if (z.createZstdDecompress) return z.createZstdDecompress();
    return external('zstd', ['-dc']);
  }
  if (startsWith(first, BZIP2)) return external('bzip2', ['-dc']);
  if (startsWith(first, XZ)) return external('xz', ['-dc']);
  return undefined;
}

/** A decompressor run as a child process, wrapped as a duplex-like stream pair. */
function external(cmd: string, args: string[]): NodeJS.ReadWriteStream {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  return Duplex.from({ writable: child.stdin, readable: child.stdout }) as NodeJS.ReadWriteStream;
}

/**
 * Streams `body` into a fresh directory under `tmpDir`. The caller removes it with `ctx.remove()`.
 * `maxSize` bounds the bytes written to disk (a context is untrusted).
 */
export async function receiveContext(
  body: Readable,
  tmpDir: string,
  maxSize = Number.MAX_SAFE_INTEGER,
): Promise<BuildContext> {
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const root = path.join(tmpDir, `ctx-${randomBytes(8).toString('hex')}`);
  await fsp.mkdir(root, { mode: 0o755 });
  const dataFile = path.join(root, 'data');
  const sink = new ContextSink(dataFile);
  const parser = new TarParser(sink);
  let closed = false;
  const close = () => {
    if (!closed) sink.close();
    closed = true;
  };
  const remove = () => fsp.rm(root, { recursive: true, force: true });
  let fed = 0;
  let mode: 'detect' | 'tar' | 'dockerfile' = 'detect';
  let head: Buffer[] = [];
  let headLen = 0;
  let raw: Buffer[] = [];
  const feed = (chunk: Buffer): void => {
    fed += chunk.length;
    parser.write(chunk);
    if (sink.size > maxSize) throw new ContextError(`build context is larger than ${maxSize} bytes`);
  };
  try {
    let source: AsyncIterable<Buffer> = body;
    // Peek at the first bytes to pick decompression, then at the first block to tell tar from a Dockerfile.
    const it = body[Symbol.asyncIterator]();
    let first: Buffer | undefined;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      const b = r.value as Buffer;
      if (b.length === 0) continue;
      first = b;
      break;
    }
    if (first === undefined) {
      close();
      return { root, dataFile, entries: sink.entries, size: 0, remove };
    }
    const rest: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        done: false,
        next: async () => {
          if (first) {
            const v = first;
            first = undefined;
            return { done: false, value: v };
          }
          return (await it.next()) as IteratorResult<Buffer>;
        },
      }),
    };
    const dec = decompressor(first);
    if (dec) {
      const src = Readable.from(rest);
      src.pipe(dec);
      source = dec as unknown as AsyncIterable<Buffer>;
    } else source = rest;
    for await (const c of source) {
      const chunk = c;
      if (mode === 'tar') {
        feed(chunk);
        continue;
      }
      if (mode === 'dockerfile') {
        raw.push(chunk);
        headLen += chunk.length;
        if (headLen > 10 << 20)
          throw new ContextError('the build context is neither a tar archive nor a Dockerfile of sane size');
        continue;
      }
      head.push(chunk);
      headLen += chunk.length;
      if (headLen < 512) continue;
      const h = Buffer.concat(head);
      head = [];
      if (looksLikeTar(h)) {
        mode = 'tar';
        headLen = 0;
        feed(h);
      } else {
        mode = 'dockerfile';
        raw = [h];
      }
    }
    if (mode === 'detect') {
      const h = Buffer.concat(head);
      if (h.length > 0 && !h.every((x) => x === 0) && !looksLikeTar(h)) {
        mode = 'dockerfile';
        raw = [h];
      } else feed(h);
    }
    if (mode === 'dockerfile') {
      const text = Buffer.concat(raw);
      sink.entry({
        name: 'Dockerfile',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: text.length,
        mtime: 0,
        linkname: '',
        devmajor: 0,
        devminor: 0,
        xattrs: {},
      });
      sink.data(text);
      sink.entryEnd();
      close();
      return { root, dataFile, entries: sink.entries, size: text.length, remove };
    }
    // The docker CLI's `-f outside/Dockerfile` archive ends without the last entry's padding or the end
    // marker; Go's reader accepts that, so pad to the block boundary before asking the parser to finish.
    if (fed % 512 !== 0) parser.write(Buffer.alloc(512 - (fed % 512)));
    parser.end();
    close();
    return { root, dataFile, entries: sink.entries, size: sink.size, remove };
  } catch (err) {
    close();
    await remove();
    if (err instanceof ContextError) throw err;
    throw new ContextError(`failed to read the build context: ${(err as Error).message}`);
  }
}

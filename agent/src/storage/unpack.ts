/**
 * One pass over a layer as it arrives: count + sha256 the compressed bytes (and keep them as the blob),
 * decompress (gzip in-process, zstd through the `zstd` CLI), sha256 the tar (the diff id) and extract it.
 * Nothing is read twice and nothing is fsynced: a crash leaves only temp names that startup removes.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { PassThrough, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { DEFAULT_LIMITS, LayerError, LayerExtractor, type ExtractLimits } from './extract.js';

export interface UnpackOptions {
  /** Temp directory to extract into (must exist and be empty). */
  dir: string;
  /** Where to keep the compressed bytes (a temp name the caller renames after verification). */
  blobFile?: string;
  /** A plain tar is gzipped into `blobFile` (so commits and loads can be pushed compressed). */
  gzipPlain?: boolean;
  /** Expected digest/size of the compressed stream (from the manifest). */
  digest?: string;
  size?: number;
  /** Expected sha256 of the uncompressed tar (from the image config's rootfs.diff_ids). */
  diffId?: string;
  onProgress?: (bytes: number) => void;
  limits?: ExtractLimits;
  signal?: AbortSignal;
}

export interface UnpackResult {
  digest: string;
  compressedSize: number;
  diffId: string;
  size: number;
  compression: 'gzip' | 'zstd' | 'none';
  /** What was kept in `blobFile`. */
  blob: { digest: string; size: number; mediaType: string };
}

const LAYER_MEDIA: Record<UnpackResult['compression'], string> = {
  gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.docker.image.rootfs.diff.tar',
};

/** Gzips what passes into a file (hash + size kept), passing the plain bytes on. */
class GzipTee extends Transform {
  private gz = zlib.createGzip({ level: 6, chunkSize: 256 * 1024 });
  readonly hash = createHash('sha256');
  size = 0;
  constructor(private readonly fd: number) {
    super();
    this.gz.on('data', (c: Buffer) => {
      // After a failed pipeline the caller closes fd while zlib may still emit: writing then would hit
      // a closed (or reused) descriptor and kill the daemon.
      if (this.destroyed) return;
      this.hash.update(c);
      this.size += c.length;
      let off = 0;
      while (off < c.length) off += fs.writeSync(this.fd, c, off, c.length - off);
    });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.push(chunk);
    if (this.gz.write(chunk)) cb();
    else this.gz.once('drain', () => cb());
  }
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.gz.destroy();
    cb(err);
  }
  override _flush(cb: TransformCallback): void {
    this.gz.once('end', () => cb());
    this.gz.once('error', cb);
    this.gz.end();
  }
}

/** How far decompression may run ahead of extraction. */
const AHEAD = 8 << 20;

/** Hashes, counts and optionally copies bytes into a file as they pass. */
class Tap extends Transform {
  readonly hash: Hash = createHash('sha256');
  count = 0;
  constructor(
    private readonly fd: number | undefined,
    private readonly limit: number | undefined,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: AHEAD });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    if (this.limit !== undefined && this.count > this.limit) {
      cb(new LayerError(`layer is larger than its declared size of ${this.limit} bytes`));
      return;
    }
    this.hash.update(chunk);
    if (this.fd !== undefined) {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    }
    this.onBytes?.(this.count);
    cb(null, chunk);
  }
}

/** Reads the first bytes of a stream and puts them back (or rebuilds the stream when it was that short). */
async function peek(src: Readable, n: number): Promise<{ head: Buffer; src: Readable }> {
  const chunks: Buffer[] = [];
  let len = 0;
  let ended = false;
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      src.off('readable', onReadable);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    const onReadable = () => {
      let c: Buffer | null;
      while (len < n && (c = src.read() as Buffer | null) !== null) {
        chunks.push(c);
        len += c.length;
      }
      if (len >= n) {
        cleanup();
        resolve();
      }
    };
    const onEnd = () => {
      ended = true;
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    src.on('readable', onReadable);
    src.on('end', onEnd);
    src.on('error', onError);
  });
  const all = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (all.length) yield all;
    if (!ended) for await (const c of src) yield c as Buffer;
  }
  return { head: all.subarray(0, n), src: Readable.from(rest(), { objectMode: false }) };
}

function decompressor(h: Buffer): { kind: UnpackResult['compression']; stream: Transform } {
  // A deep readable buffer lets inflate (thread pool) run ahead while the main thread is busy creating
  // files; with the default 16 KiB the two would take turns instead of overlapping.
  if (h.length >= 2 && h[0] === 0x1f && h[1] === 0x8b)
    return {
      kind: 'gzip',
      stream: zlib.createGunzip({ chunkSize: 256 * 1024, highWaterMark: AHEAD } as zlib.ZlibOptions),
    };
  if (h.length >= 4 && h.readUInt32LE(0) === 0xfd2fb528) return { kind: 'zstd', stream: zstdTransform() };
  return { kind: 'none', stream: new PassThrough() };
}

function zstdTransform(): Transform {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (child.stdin.write(chunk)) cb();
      else child.stdin.once('drain', () => cb());
    },
    flush(cb) {
      child.stdin.end();
      child.on('close', (code) =>
        code === 0 ? cb() : cb(new Error(stderr.trim() || `zstd exited ${code}`)),
      );
    },
  });
  child.stdout.on('data', (d: Buffer) => t.push(d));
  child.on('error', (err) => t.destroy(new Error(`zstd is not available: ${err.message}`)));
  child.stdin.on('error', () => {
    /* reported through close */
  });
  t.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return t;
}

/** Streams `src` through hash → decompress → hash → extract. Throws LayerError on any mismatch. */
export async function unpackLayer(src: Readable, o: UnpackOptions): Promise<UnpackResult> {
  const fd = o.blobFile !== undefined ? fs.openSync(o.blobFile, 'w', 0o644) : undefined;
  const extractor = new LayerExtractor(o.dir, o.limits ?? DEFAULT_LIMITS);
  let tap = new Tap(fd, o.size, o.onProgress);
  let gzTee: GzipTee | undefined;
  const diffHash = createHash('sha256');
  const sink = new Writable({
    highWaterMark: AHEAD,
    write(chunk: Buffer, _e, cb) {
      try {
        diffHash.update(chunk);
        extractor.write(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      extractor.finish().then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
  });
  let kind: UnpackResult['compression'] = 'none';
  try {
    const p = await peek(src, 4);
    if (p.head.length === 0) throw new LayerError('layer is empty');
    const d = decompressor(p.head);
    kind = d.kind;
    const stages: (Transform | Writable)[] = [tap, d.stream];
    if (kind === 'none' && o.gzipPlain && fd !== undefined) {
      tap = new Tap(undefined, o.size, o.onProgress);
      gzTee = new GzipTee(fd);
      stages.splice(0, 2, tap, gzTee);
    }
    await pipeline([p.src, ...stages, sink], o.signal ? { signal: o.signal } : {});
  } catch (err) {
    extractor.abort();
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new LayerError(`${kind} decompression failed: ${(err as Error).message}`);
    throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  const digest = 'sha256:' + tap.hash.digest('hex');
  if (o.size !== undefined && tap.count !== o.size)
    throw new LayerError(`layer ${o.digest ?? digest} is truncated: got ${tap.count} of ${o.size} bytes`);
  if (o.digest !== undefined && digest !== o.digest)
    throw new LayerError(`digest mismatch for layer ${o.digest}: got ${digest}`);
  const diffId = 'sha256:' + diffHash.digest('hex');
  if (o.diffId !== undefined && diffId !== o.diffId)
    throw new LayerError(
      `layer ${o.digest ?? digest} does not match the image config: diff id ${diffId}, expected ${o.diffId}`,
    );
  const blob = gzTee
    ? { digest: 'sha256:' + gzTee.hash.digest('hex'), size: gzTee.size, mediaType: LAYER_MEDIA.gzip }
    : { digest, size: tap.count, mediaType: LAYER_MEDIA[kind] };
  return { digest, compressedSize: tap.count, diffId, size: extractor.stats.size, compression: kind, blob };
}

/**
 * A container's changes (its overlay upper dir) as a Docker layer tar stream, for build RUN steps and
 * docker commit. GNU tar reads the tree (hardlinks, xattrs, special files) and this module rewrites overlay's forms
 * into Docker's: a 0/0 character device becomes a `.wh.<name>` whiteout, a directory with
 * `trusted.overlay.opaque=y` gets a `.wh..wh..opq` marker. Other trusted.* xattrs never leave the host.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { TarParser, type TarEntry, type TarSink } from './tar-parse.js';
import { tarHeader, TAR_END } from '../util/tar-writer.js';

const KEEP_XATTR = /^(security\.capability|user\..+)$/;

class DiffRewriter implements TarSink {
  private pad = 0;
  constructor(private readonly write: (b: Buffer) => void) {}

  entry(e: TarEntry): void {
    const name = e.name.replace(/^(\.\/)+/, '').replace(/^\.$/, '');
    if (name === '' || name === './') return;
    const bare = name.replace(/\/$/, '');
    const slash = bare.lastIndexOf('/');
    const dir = slash < 0 ? '' : bare.slice(0, slash + 1);
    const base = bare.slice(slash + 1);
    const pax: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.xattrs)) if (KEEP_XATTR.test(k)) pax[`SCHILY.xattr.${k}`] = v;
    const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, pax };
    if (e.type === 'char' && e.devmajor === 0 && e.devminor === 0) {
      this.write(tarHeader({ name: `${dir}.wh.${base}`, type: 'file', mode: 0o600, mtime: e.mtime, size: 0 }));
      return;
    }
    if (e.type === 'dir') {
      this.write(tarHeader({ name: `${bare}/`, type: 'dir', ...common }));
      if (e.xattrs['trusted.overlay.opaque'] === 'y') this.write(tarHeader({ name: `${bare}/.wh..wh..opq`, type: 'file', mode: 0o600, mtime: e.mtime, size: 0 }));
      return;
    }
    const linkname = e.type === 'hardlink' ? e.linkname.replace(/^(\.\/)+/, '') : e.linkname;
    this.write(tarHeader({ name: bare, type: e.type, ...common, size: e.type === 'file' ? e.size : 0, linkname, devmajor: e.devmajor, devminor: e.devminor }));
    this.pad = e.type === 'file' ? (512 - (e.size % 512)) % 512 : 0;
  }

  data(chunk: Buffer): void {
    this.write(chunk);
  }

  entryEnd(): void {
    if (this.pad > 0) this.write(Buffer.alloc(this.pad));
    this.pad = 0;
  }

  end(): void {
    this.write(TAR_END);
  }
}

/**
 * The changes in `upperDir` as a layer tar stream (what docker commit and build RUN steps add to the image
 * store). Backpressure reaches the tar process; destroying the stream kills it.
 */
export function diffTarStream(upperDir: string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const child = spawn('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '--sort=name', '-C', upperDir, '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sink = new DiffRewriter((b) => {
    if (!out.write(b)) child.stdout.pause();
  });
  out.on('drain', () => child.stdout.resume());
  const parser = new TarParser(sink);
  let stderr = '';
  let failed: Error | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (c: Buffer) => {
    if (failed) return;
    try {
      parser.write(c);
    } catch (err) {
      failed = err as Error;
      child.kill('SIGKILL');
    }
  });
  child.on('error', (err) => out.destroy(new Error(`cannot run tar to read the container's changes: ${err.message}`)));
  child.on('close', (code) => {
    if (failed) return out.destroy(failed);
    if (code !== 0) return out.destroy(new Error(`reading the container's changes failed: ${stderr.trim() || `tar exited ${code}`}`));
    try {
      parser.end();
      sink.end();
      out.end();
    } catch (err) {
      out.destroy(err as Error);
    }
  });
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return out;
}

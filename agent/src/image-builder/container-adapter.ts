/**
 * The containers domain as the builder sees it (BuildContainers): one container per RUN step, created,
 * attached before start so no output is lost, waited for, its upper dir exported as a layer, removed.
 */
import { PassThrough } from 'node:stream';
import { writeTree } from '../containers/archive.js';
import type { ContainerDomain } from '../containers/index.js';
import { readOpaqueDirs } from '../storage/opaque.js';
import type { BuildContainers } from './ports.js';

/** Splits Docker's 8-byte multiplexed frames ([stream,0,0,0,size BE32] + payload) as they arrive. */
export class FrameSplitter {
  private buf = Buffer.alloc(0);
  constructor(private readonly on: (stream: 'stdout' | 'stderr', payload: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const payload = this.buf.subarray(8, 8 + size);
      this.on(this.buf[0] === 2 ? 'stderr' : 'stdout', payload);
      this.buf = this.buf.subarray(8 + size);
    }
  }
}

export function buildContainersFrom(domain: ContainerDomain): BuildContainers {
  const lc = domain.lifecycle;
  return {
    async create(req) {
      const body = {
        Image: req.Image,
        Cmd: req.Cmd,
        Entrypoint: req.Entrypoint,
        Env: req.Env,
        User: req.User,
        WorkingDir: req.WorkingDir,
        Labels: req.Labels,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { ...req.HostConfig, NetworkMode: req.NetworkMode },
      };
      const r = await domain.create(body, null);
      return r.Id;
    },
    async run(id, onOutput, signal) {
      const exited = lc.nextExit(id);
      const s = await lc.attachAndStart(id, { stdin: false, stdout: true, stderr: true });
      const split = new FrameSplitter(onOutput);
      const drained = new Promise<void>((resolve) => {
        s.output.on('data', (c: Buffer) => split.push(c));
        s.output.on('end', resolve);
        s.output.on('close', resolve);
        s.output.on('error', () => resolve());
      });
      const onAbort = () => void lc.kill(id).catch(() => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await exited;
        await drained;
        return res.StatusCode;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    async exportChanges(id) {
      // A RUN container has no volumes or bind mounts: its upper dir is exactly its changes.
      const upper = domain.store.files(id).upper;
      const out = new PassThrough();
      // writeTree ends `out` itself once the archive is complete.
      writeTree(out, upper, '', { whiteouts: true, opaqueDirs: readOpaqueDirs(upper) }).catch((err: Error) =>
        out.destroy(err),
      );
      return out;
    },
    async remove(id) {
      await domain.remove(id, { force: true, volumes: true });
    },
  };
}

/**
 * The sandbox image. There is no registry.k8s.io/pause here (no internet), so the kubelet imports its own static
 * berth-pause binary into berthd (`docker import` with ENTRYPOINT) when the image is missing. The tag is the
 * binary's digest, so a new binary gives a new image and old sandboxes keep theirs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineClient } from './engine/client.js';
import { tar } from './tar.js';

export const PAUSE_REPO = 'berth/pause';
export const PAUSE_PATH = '/pause';

/** kube/dist/native/berth-pause, built by kube/native/Makefile. */
export const DEFAULT_PAUSE_BINARY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../native/berth-pause',
);

export interface PauseImage {
  ref: string;
  /** Absolute path of the binary inside the image (also the port-forward helper). */
  path: string;
}

/** Makes sure the pause image is in the engine's store; returns its reference. Concurrent callers share one import. */
export class PauseImageSource {
  private pending: Promise<PauseImage> | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly binary = DEFAULT_PAUSE_BINARY,
  ) {}

  ensure(): Promise<PauseImage> {
    this.pending ??= this.load().catch((err: unknown) => {
      this.pending = undefined;
      throw err;
    });
    return this.pending;
  }

  private async load(): Promise<PauseImage> {
    const data = await readFile(this.binary).catch((err: Error) => {
      throw new Error(
        `the sandbox binary ${this.binary} is missing (run make -C kube/native): ${err.message}`,
      );
    });
    const tag = createHash('sha256').update(data).digest('hex').slice(0, 16);
    const ref = `${PAUSE_REPO}:${tag}`;
    // Re-check on every ensure() after a failure only: an image removed by hand is imported again on next start.
    if (!(await this.engine.imageInspect(ref))) {
      await this.engine.imageImport(tar([{ name: 'pause', data, mode: 0o755 }]), PAUSE_REPO, tag, [
        `ENTRYPOINT ["${PAUSE_PATH}"]`,
        'LABEL io.berth.kube=pause',
      ]);
    }
    return { ref, path: PAUSE_PATH };
  }

  /** Forget the cached answer (the image was removed from the engine). */
  reset(): void {
    this.pending = undefined;
  }
}

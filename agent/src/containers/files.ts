/** A container's files over the API: docker cp (archive stat/read/write), export, diff and commit. */
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { FilesystemChange } from '@berth/common';
import { badParameter, EngineError, forbidden, notFound } from '../errors.js';
import { TarParser } from '../storage/tar-parse.js';
import type { ArchiveWriteOptions, ContainerFilesPort } from './api-port.js';
import { encodeStat, statPath, writeTree } from './archive.js';
import { ContainerExtractor } from './archive-extract.js';
import { archiveMounts, hiddenByMount } from './archive-mounts.js';
import { changes, mountpointFilter } from './changes.js';
import { commitContainer, type CommitOptions } from './commit.js';
import type { ContainerDeps } from './deps.js';
import type { ContainerRecord } from './record.js';
import type { RootfsViews } from './rootfs-view.js';

function required(p: string | null): string {
  if (!p) throw badParameter('path is required');
  return p;
}

export class ContainerFiles implements ContainerFilesPort {
  constructor(
    private readonly d: ContainerDeps,
    private readonly views: RootfsViews,
  ) {}

  /** What cp/export see of a running container's mounts (dockerd's view). */
  private async runningMounts(rec: ContainerRecord, forExport: boolean) {
    const img = await this.d.images.resolve(rec.image);
    return archiveMounts(
      rec,
      rec.state.pid,
      this.d.store.files(rec.id).upper,
      img?.layerDirs ?? [],
      forExport,
    );
  }

  private absolute(rec: ContainerRecord, p: string): string {
    return path.posix.isAbsolute(p) ? p : path.posix.join(rec.config.WorkingDir || '/', p);
  }

  async readArchive(
    ref: string,
    rawPath: string | null,
    open: (stat: string) => Writable | undefined,
  ): Promise<void> {
    const rec = this.d.store.get(ref);
    const p = required(rawPath);
    await this.views.with(rec, 'read', async (root, running) => {
      const s = statPath(root, this.absolute(rec, p), rec.id);
      const mounts = running ? await this.runningMounts(rec, false) : undefined;
      if (mounts && hiddenByMount(mounts, s.path))
        throw notFound(`Could not find the file ${p} in container ${rec.id}`);
      const out = open(encodeStat(s.stat));
      if (!out) return;
      const name = /\/\.$/.test(p) ? '.' : s.stat.name;
      await writeTree(out, root, name, { path: s.path, ...(mounts ? { mounts } : {}) });
    });
  }

  async writeArchive(
    ref: string,
    rawPath: string | null,
    opts: ArchiveWriteOptions,
    body: AsyncIterable<unknown>,
  ): Promise<void> {
    const rec = this.d.store.get(ref);
    const p = required(rawPath);
    const abs = this.absolute(rec, p);
    if (
      rec.hostConfig.ReadonlyRootfs &&
      !rec.mounts.some((m) => m.rw && (abs === m.destination || abs.startsWith(m.destination + '/')))
    )
      throw forbidden('container rootfs is marked read-only');
    await this.views.with(rec, 'write', async (root) => {
      const x = ContainerExtractor.open(
        root,
        abs,
        opts,
        `Could not find the file ${p} in container ${rec.id}`,
      );
      const parser = new TarParser(x);
      try {
        for await (const chunk of body) parser.write(chunk as Buffer);
        parser.end();
        x.finish();
      } catch (err) {
        x.abort();
        if (err instanceof EngineError) throw err;
        throw badParameter(`invalid archive: ${(err as Error).message}`);
      }
    });
  }

  async exportRootfs(ref: string, open: () => Writable): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.views.with(rec, 'read', async (root, running) => {
      const mounts = running ? await this.runningMounts(rec, true) : undefined;
      await writeTree(open(), root, '', mounts ? { mounts } : {});
    });
  }

  async changes(ref: string): Promise<FilesystemChange[]> {
    const rec = this.d.store.get(ref);
    const img = await this.d.images.resolve(rec.image);
    return changes(this.d.store.files(rec.id).upper, img?.layerDirs ?? [], mountpointFilter(rec));
  }

  async commit(ref: string | null, req: CommitOptions): Promise<string> {
    if (!ref) throw badParameter('container is required');
    const rec = this.d.store.get(ref);
    if (typeof req.config !== 'object' || req.config === null || Array.isArray(req.config))
      throw badParameter('invalid commit config: expected a JSON object');
    return commitContainer(this.d, rec, req);
  }
}

/**
 * The COPY and ADD steps: pick the source (context, a stage, an image), expand, fetch ADD URLs, extract ADD
 * archives, hash the sources for the cache key, and write the layer only on a cache miss.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Instruction } from './dockerfile/instructions.js';
import { BuildStepError, type Builder, type StageState } from './builder.js';
import { cacheKey } from './cache.js';
import { readContextFile, receiveContext, type BuildContext } from './context/receive.js';
import { copyDigestText, CopyError, findSources, planCopy, type CopySource } from './copy.js';
import { layerTarStream } from './layer-writer.js';
import { nopCreatedBy } from './meta-steps.js';
import type { RootfsView } from './rootfs-view.js';
import { lookupUser } from './rootfs-view.js';
import { ContextSource, ImageSource, type SourceFs } from './sources.js';

type CopyInstruction = Extract<Instruction, { kind: 'copy' | 'add' }>;

const URL_RE = /^https?:\/\//i;
/** ADD from a URL: the download is bounded (the context is untrusted, and so is what it points at). */
const MAX_DOWNLOAD = 4 * 2 ** 30;

function tarChecksumOk(b: Buffer): boolean {
  if (b.length < 512) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i];
  return parseInt(b.toString('latin1', 148, 156).replace(/[\0 ]/g, ''), 8) === sum;
}

/** dockerd's ADD rule: a local file is extracted when it is a (possibly compressed) tar archive. */
function isArchive(head: Buffer): boolean {
  let b = head;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = zlib.gunzipSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return false;
    }
  } else if (
    b.subarray(0, 3).toString('latin1') === 'BZh' ||
    (b[0] === 0xfd && b.subarray(1, 5).toString('latin1') === '7zXZ')
  ) {
    return true;
  }
  return tarChecksumOk(b);
}

async function download(
  url: string,
  dir: string,
  signal: AbortSignal,
): Promise<{ file: string; mtime: number; name: string }> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new BuildStepError(`failed to fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body)
    throw new BuildStepError(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `add-${randomBytes(8).toString('hex')}`);
  const fd = fs.openSync(file, 'wx', 0o600);
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_DOWNLOAD)
        throw new BuildStepError(`ADD ${url}: the download is larger than ${MAX_DOWNLOAD} bytes`);
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
  const lm = res.headers.get('last-modified');
  const mtime = lm ? Math.floor(Date.parse(lm) / 1000) || 0 : 0;
  const name =
    decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || 'index.html';
  return { file, mtime, name };
}

/** A one-file source (ADD URL, heredoc) presented as a tiny context; `content` is bytes or a file to take. */
async function singleFileSource(
  dir: string,
  name: string,
  content: Buffer | string,
  mode: number,
  mtime: number,
): Promise<{ source: ContextSource; remove: () => Promise<void> }> {
  const root = path.join(dir, `one-${randomBytes(8).toString('hex')}`);
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  const dataFile = path.join(root, 'data');
  if (typeof content === 'string') await fsp.rename(content, dataFile);
  else await fsp.writeFile(dataFile, content, { mode: 0o600 });
  const { size } = await fsp.stat(dataFile);
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(dataFile)) hash.update(chunk as Buffer);
  const ctx: BuildContext = {
    root,
    dataFile,
    entries: new Map([
      [
        '',
        { type: 'dir', mode: 0o755, size: 0, mtime: 0, uid: 0, gid: 0, linkname: '', hash: '', offset: 0 },
      ],
      [
        name,
        {
          type: 'file',
          mode,
          size,
          mtime,
          uid: 0,
          gid: 0,
          linkname: '',
          hash: hash.digest('hex'),
          offset: 0,
        },
      ],
    ]),
    size,
    remove: () => fsp.rm(root, { recursive: true, force: true }),
  };
  return { source: new ContextSource(ctx), remove: ctx.remove };
}

export async function runCopy(
  b: Builder,
  st: StageState,
  ins: CopyInstruction,
  expand: (w: string) => string,
  shell: string[],
): Promise<void> {
  const job = b.jobInfo;
  const INSTR = ins.kind === 'copy' ? 'COPY' : 'ADD';
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let src: SourceFs = job.contextSource;
    let fromText = '';
    if (ins.from !== undefined) {
      const ref = expand(ins.from);
      const stage = b.stageImage(ref, st.stage.index);
      let id: string | undefined;
      if (stage) id = stage.imageId;
      else id = (await b.resolveBase(ref)).id;
      src = new ImageSource(id ?? 'scratch', await b.view(id));
      fromText = `--from=${ref} `;
    }
    const dest = expand(ins.dest);
    const sources: CopySource[] = [];
    const plain: string[] = [];
    for (const raw of ins.sources) {
      const heredoc = /^<<([A-Za-z_][A-Za-z0-9_]*)$/.exec(raw);
      if (heredoc) {
        const h = ins.heredocs.find((x) => x.name === heredoc[1]);
        if (!h) throw new CopyError(`${INSTR} failed: no heredoc named ${heredoc[1]}`);
        const content = h.expand ? expand(h.content) : h.content;
        const one = await singleFileSource(
          job.tmpDir,
          h.name,
          Buffer.from(content),
          0o644,
          Math.floor(Date.now() / 1000),
        );
        cleanups.push(one.remove);
        sources.push(...findSources(one.source, [h.name], INSTR));
        continue;
      }
      const s = expand(raw);
      if (URL_RE.test(s)) {
        if (ins.kind !== 'add') throw new CopyError(`${INSTR} failed: source can't be a URL for COPY`);
        const d = await download(s, job.tmpDir, job.signal);
        // dockerd gives a downloaded file mode 0600.
        const one = await singleFileSource(job.tmpDir, d.name, d.file, 0o600, d.mtime);
        cleanups.push(one.remove);
        sources.push(...findSources(one.source, [d.name], INSTR));
        continue;
      }
      plain.push(s);
    }
    sources.push(...findSources(src, plain, INSTR));
    if (ins.kind === 'add') {
      for (const s of sources) {
        if (s.stat.type !== 'file' || !(s.src instanceof ContextSource) || s.stat.offset === undefined)
          continue;
        const entry = s.src.contextEntry(s.rel);
        if (!entry || !isArchive(await readContextFile(s.src.context, entry, 64 * 1024))) continue;
        const stream = fs.createReadStream(s.stat.hostPath, {
          start: s.stat.offset,
          end: s.stat.offset + s.stat.size - 1,
        });
        const ctx = await receiveContext(stream, job.tmpDir);
        cleanups.push(() => ctx.remove());
        s.archive = new ContextSource(ctx);
      }
    }
    let chmod: number | undefined;
    if (ins.chmod !== undefined) {
      const c = expand(ins.chmod);
      if (!/^[0-7]{3,4}$/.test(c)) throw new CopyError(`invalid chmod parameter: ${c}`);
      chmod = parseInt(c, 8);
    }
    const chownText = ins.chown !== undefined ? expand(ins.chown) : undefined;
    const flags = `${fromText}${chownText !== undefined ? `--chown=${chownText} ` : ''}${chmod !== undefined ? `--chmod=${ins.chmod} ` : ''}`;
    // History shows the source digest, not names; archives are keyed by their extracted tree.
    const digestText = copyDigestText(
      { sources: sources.map((s) => (s.archive ? { ...s, src: s.archive, rel: '' } : s)), dest },
      '',
    );
    const createdBy = nopCreatedBy(shell, `${INSTR} ${flags}${digestText}`, true);
    const key = cacheKey(
      st.imageId,
      `${createdBy}\n${st.config.WorkingDir ?? ''}\n${sources.map((s) => (s.archive ? 'x' : '-')).join('')}`,
    );
    await b.cachedLayerStep(st, key, createdBy, async () => {
      const target: RootfsView = await b.view(st.imageId);
      let chown: { uid: number; gid: number } | undefined;
      if (chownText !== undefined) {
        try {
          chown = lookupUser(target, chownText);
        } catch (err) {
          throw new CopyError(`${INSTR} failed: ${(err as Error).message}`);
        }
      }
      const entries = planCopy({
        instruction: INSTR,
        sources,
        dest,
        workdir: st.config.WorkingDir ?? '/',
        chown,
        chmod,
        target,
      });
      return layerTarStream(entries);
    });
  } catch (err) {
    if (err instanceof CopyError) throw new BuildStepError(err.message);
    throw err;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

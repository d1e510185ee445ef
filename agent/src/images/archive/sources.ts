/**
 * What a staged archive contains, as a list of images to load: docker-archive (manifest.json, any docker
 * save since 1.10, compressed or plain layers) or, without manifest.json, an OCI image layout (index.json).
 * Everything is validated here, before anything is written to the stores.
 */
import { createHash } from 'node:crypto';
import {
  FormatError,
  parseConfig,
  parseManifest,
  selectPlatform,
  platformString,
  daemonPlatform,
  type Descriptor,
  type OciImageConfig,
} from '../oci.js';
import { parseReference, type Reference } from '../reference.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from './save.js';
import { ArchiveError, type StagedArchive } from './staging.js';

export interface LayerSource {
  file: string;
  diffId: string;
}

export interface LoadCandidate {
  id: string;
  configRaw: Buffer;
  config: OciImageConfig;
  layers: LayerSource[];
  tags: Reference[];
}

function config(raw: Buffer, where: string): OciImageConfig {
  try {
    return parseConfig(raw);
  } catch (err) {
    if (err instanceof FormatError) throw new ArchiveError(`invalid archive: ${where}: ${err.message}`);
    throw err;
  }
}

function tagRef(s: string, where: string): Reference {
  try {
    const r = parseReference(s, undefined);
    if (r.digest !== undefined || r.tag === undefined) throw new Error('not name:tag');
    return r;
  } catch {
    throw new ArchiveError(`invalid archive: ${where} has an invalid tag ${JSON.stringify(s)}`);
  }
}

interface DockerManifestItem {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

async function fromDockerArchive(a: StagedArchive): Promise<LoadCandidate[]> {
  const items = await a.readJson<DockerManifestItem[]>('manifest.json', 'file');
  if (!Array.isArray(items) || items.length === 0)
    throw new ArchiveError('invalid archive: manifest.json lists no images');
  const out: LoadCandidate[] = [];
  for (const [i, it] of items.entries()) {
    const where = `manifest.json entry ${i}`;
    if (
      typeof it?.Config !== 'string' ||
      !Array.isArray(it.Layers) ||
      !it.Layers.every((l) => typeof l === 'string')
    )
      throw new ArchiveError(`invalid archive: ${where} needs a Config path and a Layers list`);
    const raw = await a.read(it.Config, 'image config');
    const cfg = config(raw, it.Config);
    const diffIds = cfg.rootfs.diff_ids;
    if (diffIds.length !== it.Layers.length)
      throw new ArchiveError(
        `invalid archive: ${where} lists ${it.Layers.length} layers but its config has ${diffIds.length} (invalid manifest, layers length mismatch)`,
      );
    const layers = it.Layers.map((l, j) => ({
      file: a.need(l, 'layer').file,
      diffId: diffIds[j],
    }));
    const tags = Array.isArray(it.RepoTags) ? it.RepoTags.map((t) => tagRef(String(t), where)) : [];
    out.push({
      id: 'sha256:' + createHash('sha256').update(raw).digest('hex'),
      configRaw: raw,
      config: cfg,
      layers,
      tags,
    });
  }
  return out;
}

const blobName = (digest: string): string => {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest))
    throw new ArchiveError(`invalid archive: unsupported digest ${JSON.stringify(digest)}`);
  return `blobs/sha256/${digest.slice(7)}`;
};

/** A blob named by a descriptor, its content checked against the digest. */
async function verifiedBlob(a: StagedArchive, d: Descriptor, what: string): Promise<Buffer> {
  const raw = await a.read(blobName(d.digest), what);
  const got = 'sha256:' + createHash('sha256').update(raw).digest('hex');
  if (got !== d.digest)
    throw new ArchiveError(`invalid archive: ${what} ${d.digest} has the wrong content (sha256 ${got})`);
  return raw;
}

/** The name an OCI layout gives an image: containerd's full-name annotation, or a ref.name that is a full reference. */
function layoutTag(d: Descriptor): Reference | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return tagRef(full, 'index.json');
  const refName = d.annotations?.[ANNOTATION_REF_NAME];
  if (refName && /[:/]/.test(refName)) {
    try {
      return tagRef(refName, 'index.json');
    } catch {
      return undefined; // a bare tag such as "latest" does not name an image
    }
  }
  return undefined;
}

async function fromOciLayout(a: StagedArchive): Promise<LoadCandidate[]> {
  const index = await a.readJson<{ manifests?: Descriptor[] }>('index.json', 'file');
  if (!index || !Array.isArray(index.manifests) || index.manifests.length === 0)
    throw new ArchiveError('invalid archive: index.json lists no manifests');
  const byId = new Map<string, LoadCandidate>();
  for (const top of index.manifests) {
    let d: Descriptor = top;
    for (let depth = 0; ; depth++) {
      if (depth > 4) throw new ArchiveError('invalid archive: image indexes nested too deeply');
      const raw = await verifiedBlob(a, d, 'manifest');
      let parsed;
      try {
        parsed = parseManifest(raw, d.mediaType);
      } catch (err) {
        if (err instanceof FormatError)
          throw new ArchiveError(`invalid archive: manifest ${d.digest}: ${err.message}`);
        throw err;
      }
      if (parsed.kind === 'index') {
        const pick = selectPlatform(parsed.index);
        if (!pick)
          throw new ArchiveError(
            `invalid archive: image index ${d.digest} has no image for ${platformString(daemonPlatform())}`,
          );
        d = pick;
        continue;
      }
      const m = parsed.manifest;
      const raw2 = await verifiedBlob(a, m.config, 'image config');
      const cfg = config(raw2, m.config.digest);
      if (cfg.rootfs.diff_ids.length !== m.layers.length)
        throw new ArchiveError(
          `invalid archive: manifest ${d.digest} lists ${m.layers.length} layers but its config has ${cfg.rootfs.diff_ids.length}`,
        );
      const layers = m.layers.map((l, j) => {
        const f = a.need(blobName(l.digest), 'layer');
        return { file: f.file, diffId: cfg.rootfs.diff_ids[j] };
      });
      const id = 'sha256:' + createHash('sha256').update(raw2).digest('hex');
      const c = byId.get(id) ?? { id, configRaw: raw2, config: cfg, layers, tags: [] };
      const tag = layoutTag(top);
      if (tag) c.tags.push(tag);
      byId.set(id, c);
      break;
    }
  }
  return [...byId.values()];
}

/** Reads the image list; a tar that is neither format gets a message saying what was expected. */
export async function loadCandidates(a: StagedArchive): Promise<LoadCandidate[]> {
  if (a.has('manifest.json')) return fromDockerArchive(a);
  if (a.has('index.json')) return fromOciLayout(a);
  if (a.has('repositories'))
    throw new ArchiveError(
      'invalid archive: legacy (pre Docker 1.10) image archives without manifest.json are not supported',
    );
  throw new ArchiveError(
    'invalid archive: no manifest.json (docker save) or index.json (OCI image layout) found in the tar',
  );
}

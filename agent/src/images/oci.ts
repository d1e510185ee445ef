/** OCI / Docker distribution formats: media types, manifests, indexes, image configs, platform choice. */
import type { ImageContainerConfig } from '@berth/common';
import { goArch } from '../platform.js';

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

export const LAYER_TYPES: readonly string[] = [
  MT.dockerLayer,
  MT.ociLayer,
  MT.ociLayerGzip,
  MT.ociLayerZstd,
  'application/vnd.docker.image.rootfs.diff.tar',
];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob (its sha256 is the image ID). Docker's extra fields are kept as they come. */
export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  config?: ImageContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  // Docker-specific
  container?: string;
  container_config?: ImageContainerConfig;
  docker_version?: string;
  comment?: string;
  parent?: string;
}

export class FormatError extends Error {}

/** The daemon's platform, as registries spell it. */
export function daemonPlatform(): Platform {
  const architecture = goArch();
  return architecture === 'arm64'
    ? { os: 'linux', architecture, variant: 'v8' }
    : { os: 'linux', architecture };
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

/** Picks the index entry for our platform (arm64's variant is optional, as containerd's matcher allows). */
export function selectPlatform(index: ImageIndex, want: Platform = daemonPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture,
  );
  return (
    candidates.find((m) => (m.platform!.variant ?? '') === (want.variant ?? '')) ??
    candidates.find(
      (m) =>
        want.architecture === 'arm64' && (m.platform!.variant === undefined || m.platform!.variant === 'v8'),
    ) ??
    candidates[0]
  );
}

export type ParsedManifest =
  { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

/** Parses a manifest body; the Content-Type header wins over the body's own mediaType when present. */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FormatError('invalid manifest: not JSON');
  }
  if (typeof v !== 'object' || v === null) throw new FormatError('invalid manifest');
  const o = v as Record<string, unknown>;
  const mt = (contentType?.split(';')[0]?.trim() || (o.mediaType as string | undefined)) ?? '';
  if (mt === MT.dockerSchema1 || o.schemaVersion === 1)
    throw new FormatError('Docker Image manifest version 2, schema 1 is not supported');
  if (mt === MT.ociIndex || mt === MT.dockerList || (Array.isArray(o.manifests) && !o.config)) {
    if (!Array.isArray(o.manifests)) throw new FormatError('invalid image index: no manifests');
    return { kind: 'index', index: o as unknown as ImageIndex };
  }
  const m = o as unknown as ImageManifest;
  if (!m.config || typeof m.config.digest !== 'string' || !Array.isArray(m.layers))
    throw new FormatError('invalid image manifest: missing config or layers');
  for (const l of [m.config, ...m.layers]) {
    if (!/^sha256:[a-f0-9]{64}$/.test(l.digest))
      throw new FormatError(`invalid image manifest: unsupported digest ${JSON.stringify(l.digest)}`);
    if (!Number.isSafeInteger(l.size) || l.size < 0)
      throw new FormatError(`invalid image manifest: bad size for ${l.digest}`);
  }
  return { kind: 'manifest', manifest: m };
}

export function parseConfig(body: Buffer): OciImageConfig {
  let c: OciImageConfig;
  try {
    c = JSON.parse(body.toString('utf8')) as OciImageConfig;
  } catch {
    throw new FormatError('invalid image config: not JSON');
  }
  if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids))
    throw new FormatError('invalid image config: no rootfs.diff_ids');
  for (const d of c.rootfs.diff_ids)
    if (!/^sha256:[a-f0-9]{64}$/.test(d))
      throw new FormatError(`invalid image config: bad diff id ${JSON.stringify(d)}`);
  return c;
}

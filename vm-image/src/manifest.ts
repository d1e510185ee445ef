/** The guest image's pinned inputs (vm-image/manifest.json): every download is named by version and sha256. */
import { readFileSync } from 'node:fs';

export type GuestArch = 'amd64' | 'arm64';

export interface Pin {
  name: string;
  version: string;
  sha256: string;
}

export interface ArchInputs {
  kernel: Pin;
  node: Pin;
  debs: Pin[];
}

export interface ImageManifest {
  schema: 1;
  sourceDateEpoch: number;
  /** Kernel modules the guest loads at boot (their dependencies are added by the build). */
  modules: string[];
  arches: Record<GuestArch, ArchInputs>;
}

const SHA256 = /^[0-9a-f]{64}$/;

function checkPin(where: string, p: unknown): Pin {
  const o = p as Partial<Pin> | null;
  if (
    !o ||
    typeof o.name !== 'string' ||
    typeof o.version !== 'string' ||
    typeof o.sha256 !== 'string' ||
    !SHA256.test(o.sha256)
  )
    throw new Error(
      `manifest: ${where} needs name, version and a sha256 (run node vm-image/pin.mjs --write)`,
    );
  return { name: o.name, version: o.version, sha256: o.sha256 };
}

/** Parses and validates a manifest; throws naming the bad entry. */
export function parseManifest(text: string): ImageManifest {
  const m = JSON.parse(text) as Partial<ImageManifest>;
  if (m.schema !== 1) throw new Error(`manifest: unsupported schema ${String(m.schema)}`);
  if (typeof m.sourceDateEpoch !== 'number') throw new Error('manifest: sourceDateEpoch must be a number');
  if (!Array.isArray(m.modules) || m.modules.some((x) => typeof x !== 'string'))
    throw new Error('manifest: modules must be a list of names');
  const arches = {} as Record<GuestArch, ArchInputs>;
  for (const arch of ['amd64', 'arm64'] as const) {
    const a = m.arches?.[arch];
    if (!a) throw new Error(`manifest: no inputs for ${arch}`);
    arches[arch] = {
      kernel: checkPin(`${arch}.kernel`, a.kernel),
      node: checkPin(`${arch}.node`, a.node),
      debs: (a.debs ?? []).map((d, i) => checkPin(`${arch}.debs[${i}]`, d)),
    };
  }
  return { schema: 1, sourceDateEpoch: m.sourceDateEpoch, modules: m.modules, arches };
}

export function loadManifest(file: string): ImageManifest {
  return parseManifest(readFileSync(file, 'utf8'));
}

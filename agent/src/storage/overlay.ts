/**
 * Overlay rootfs description. The snapshotter (storage/) only DESCRIBES the mount; the runtime PERFORMS it
 * inside the container's own mount namespace, so a crashed daemon never leaves an overlay mounted on the host.
 */
import path from 'node:path';
import type { RootfsSpec } from '../runtime/types.js';

export interface OverlayDirs {
  /** Image layer diff dirs, topmost first (overlayfs lowerdir order). */
  lowerDirs: string[];
  /** Per-container dir holding upper/, work/ and merged/. */
  containerDir: string;
}

/** The rootfs spec for a container whose snapshot dirs live under `containerDir`. */
export function describeOverlay(dirs: OverlayDirs): RootfsSpec {
  if (dirs.lowerDirs.length === 0) throw new Error('overlay rootfs needs at least one lower layer');
  for (const d of dirs.lowerDirs) {
    if (!path.isAbsolute(d)) throw new Error(`overlay lower dir must be absolute: ${d}`);
    // ':' and ',' are separators in overlay's mount data; a layer path holding them cannot be expressed.
    if (/[:,\\]/.test(d)) throw new Error(`overlay lower dir contains a reserved character: ${d}`);
  }
  return {
    kind: 'overlay',
    lowerDirs: dirs.lowerDirs,
    upperDir: path.join(dirs.containerDir, 'upper'),
    workDir: path.join(dirs.containerDir, 'work'),
    target: path.join(dirs.containerDir, 'merged'),
  };
}

/** What containers/ needs from the image store (images/ implements it; daemon.ts adapts). */
import type { ImageContainerConfig } from '@berth/common';

export interface ImageForContainer {
  /** sha256:<hex> */
  id: string;
  config: ImageContainerConfig;
  /** Unpacked layer dirs, top-most first (overlay lowerdir order). */
  layerDirs: string[];
}

export interface ImagePort {
  /** Resolves a reference or id; undefined when unknown (the API answers "No such image: x"). */
  resolve(ref: string): Promise<ImageForContainer | undefined>;
  /** Creates an image from a layer tarball stream on top of `parent` (docker commit). Returns the new id. */
  commit?(opts: CommitRequest): Promise<string>;
}

export interface CommitRequest {
  parentId: string;
  /** An uncompressed tar of the container's changes with .wh. whiteouts, as a layer. */
  layerTar: string;
  config: ImageContainerConfig;
  containerId: string;
  comment: string;
  author: string;
  /** repo[:tag] to tag the new image with, if any. */
  repo?: string;
  tag?: string;
}

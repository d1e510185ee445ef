/** What containers/ needs from the image store (images/ implements it; daemon.ts adapts). */
import type { Readable } from 'node:stream';
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
  /** Creates an image from a layer tar on top of `parentId` (docker commit). Returns the new image id. */
  commit(opts: CommitRequest): Promise<string>;
}

export interface CommitRequest {
  parentId: string;
  /** A Docker layer tar of the container's changes (`.wh.` whiteouts). */
  layerTar: Readable;
  config: ImageContainerConfig;
  containerId: string;
  comment: string;
  author: string;
  /** History `created_by`, as dockerd records for commits. */
  createdBy: string;
  /** `repo:tag` references to point at the new image. */
  tags: string[];
}

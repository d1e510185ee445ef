/**
 * The store's errors, naming the key (the API server rewrites them for the resource it serves). Messages follow
 * kube-apiserver's storage errors so that a caller passing them through still reads familiar text.
 */
import { alreadyExists, conflict, expired, notFound, type KubeError } from '../errors.js';

export const keyExists = (key: string): KubeError => alreadyExists('key', key);

export const keyNotFound = (key: string): KubeError => notFound('key', key);

/** storage.NewResourceVersionConflictsError's wording, which kubectl and client-go retry on. */
export const keyConflict = (key: string): KubeError =>
  conflict(
    'key',
    key,
    'the object has been modified; please apply your changes to the latest version and try again',
  );

/** A read or watch from below the compacted revision (the cacher's "too old resource version: R (C)"). */
export const compacted = (revision: number, compactedRevision: number): KubeError =>
  expired(`too old resource version: ${revision} (${compactedRevision})`);

/** What a request brings to the generic store (who, options) and what list and watch give back. */
import type { Logger } from '../../log.js';
import type { Admission } from '../../admission/chain.js';
import type { Store } from '../../store/types.js';
import type { ResourceCatalog } from '../catalog.js';
import type { KubeObject, RequestUser } from '../types.js';
import type { WatchHub } from './watch-hub.js';

export interface RequestContext {
  user: RequestUser;
  /** dryRun=All: every step runs, nothing is stored. */
  dryRun?: boolean;
  /** Who writes, for managedFields (the request's fieldManager, else its User-Agent's program name). */
  fieldManager?: string;
  /** Warning header texts a step adds (deprecations, fieldValidation=Warn). */
  warnings?: string[];
  now?: Date;
}

export interface ListOptions {
  /** Set only to be refused (sendInitialEvents is for watches). */
  sendInitialEvents?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /**
   * Watch-list (kube-apiserver 1.32's WatchList, on by default): true starts with the state as ADDED events, then a
   * BOOKMARK annotated `k8s.io/initial-events-end` when bookmarks are allowed; false starts after the revision
   * (now, without one). Absent: ADDED events only when no resourceVersion (or "0") is given, as before.
   */
  sendInitialEvents?: boolean;
  allowWatchBookmarks?: boolean;
  /** Ends the watch after this many seconds (the HTTP layer also closes the stream). */
  timeoutSeconds?: number;
  /** Bookmark interval in ms (default one minute, as kube-apiserver); tests shorten it. */
  bookmarkIntervalMs?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface KubeList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEventOut {
  type: WatchEventType;
  object: KubeObject;
}

export interface WatchSession {
  /** Stops delivery and frees the subscription. */
  stop(): void;
  /** Resolves when the watch has ended (stopped, timed out, or ended by an ERROR event). */
  readonly done: Promise<void>;
}

export interface RegistryDeps {
  store: Store;
  catalog: ResourceCatalog;
  admission: Admission;
  hub: WatchHub;
  log: Logger;
}

/** The outcome of a delete: the object (still there with a deletionTimestamp, or as it was) and whether it is gone. */
export interface DeleteResult {
  object: KubeObject;
  deleted: boolean;
}

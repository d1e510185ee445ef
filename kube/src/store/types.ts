/**
 * The cluster's key-value store: one global, monotonic revision (every object's resourceVersion is the revision
 * of its last write), history kept for a window so watches replay from a revision and lists read at one, and
 * compaction beyond which both answer Expired (410). Two backends hold to this contract through one shared test
 * suite (kube/test/store-suite.ts): embedded SQLite (kine's model: one row per write, the row id is the
 * revision) and a real etcd v3 (its own revisions). Values are the objects' JSON text; the API server sets
 * metadata.resourceVersion from the revision when it reads, never stores it.
 *
 * Keys are kube-apiserver's layout: `/registry/<resource>/<namespace>/<name>` or `/registry/<resource>/<name>`
 * (see apiserver keys); a prefix ends with '/'.
 *
 * Errors are the domain kinds of ../errors.ts: `alreadyExists` on create, `conflict` when the expected revision
 * does not match, `notFound`, `expired` for a compacted revision, `unavailable` when the backend is down.
 * Store errors name the key, not a resource; the API server rewrites them for the resource it serves.
 */

export interface KeyValue {
  key: string;
  /** JSON text of the object as written. */
  value: string;
  /** Revision of the write that created this key (its current incarnation). */
  createRevision: number;
  /** Revision of the last write to this key: the object's resourceVersion. */
  modRevision: number;
}

export interface ListOptions {
  /** Serve the list as of this revision (0 or absent: the current one). Below the compacted revision: Expired. */
  revision?: number;
  /** Only keys strictly greater than this one (paging: the last key of the previous page). */
  after?: string;
  /** At most this many items (0 or absent: all). */
  limit?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was served at (the list's resourceVersion; reuse it for the next page). */
  revision: number;
  /** Items under the prefix after the last one returned, at that revision (metadata.remainingItemCount). */
  remaining: number;
}

export type WatchEvent =
  /** A create (kv.createRevision === kv.modRevision) or an update; prev is the value before an update. */
  | { type: 'put'; kv: KeyValue; prev?: KeyValue }
  /** A delete at `revision`; prev is the last value the key had. */
  | { type: 'delete'; key: string; revision: number; prev: KeyValue }
  /** Nothing under the prefix changed up to `revision` (bookmarks and resumption points). */
  | { type: 'progress'; revision: number };

export interface WatchHandle {
  /** Stops delivery; no callback runs after it returns. */
  stop(): void;
}

export interface WatchCallbacks {
  /** Events in revision order, each delivered once. */
  onEvent(e: WatchEvent): void;
  /** The watch ended for good (backend gone, or the watcher fell behind past compaction: Expired). */
  onError(err: Error): void;
}

export interface Store {
  readonly backend: 'sqlite' | 'etcd';
  /** Current revision (the last write's). */
  revision(): Promise<number>;
  /** The oldest revision still readable: lists and watches from below it answer Expired. */
  compactedRevision(): Promise<number>;
  get(key: string, opts?: { revision?: number }): Promise<KeyValue | undefined>;
  /** Keys under a prefix, sorted by key. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of keys under a prefix now. */
  count(prefix: string): Promise<number>;
  /** Fails with alreadyExists when the key exists. Resolves once the write is durable. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replaces the value when the key's modRevision equals `expectedRevision` (conflict otherwise, notFound when
   * the key is gone). Resolves once the write is durable.
   */
  update(key: string, value: string, expectedRevision: number): Promise<KeyValue>;
  /** Deletes the key (when given, only at `expectedRevision`). Returns the deleted value and the delete's revision. */
  delete(key: string, expectedRevision?: number): Promise<{ prev: KeyValue; revision: number }>;
  /**
   * Events under `prefix` with a revision greater than `afterRevision` (0: from now). History since
   * `afterRevision` is replayed first, then live events, without gap or duplicate. From below the compacted
   * revision the watch fails with Expired (through onError, after the returned handle exists).
   */
  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<WatchHandle>;
  /** Drops history older than `revision` (keeps the current value of every live key). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

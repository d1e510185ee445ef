/**
 * Lists, watches and deletecollection of one resource: resourceVersion and resourceVersionMatch as
 * kube-apiserver reads them, paging with an opaque continue token (the list's revision and the last key; 410
 * once that revision is compacted), selectors, and watches fanned out from the hub with bookmarks, timeouts and
 * the 410 ERROR event for a compacted revision.
 */
import {
  badRequest,
  expired,
  invalid,
  isKubeError,
  KubeError,
  plainError,
  type FieldError,
} from '../../errors.js';
import { continueAfter, decodeContinue, encodeContinue } from './continue.js';
import { statusOf } from '../../apiserver/status.js';
import type { WatchEvent } from '../../store/types.js';
import { apiVersionOf } from '../catalog.js';
import type { KubeObject } from '../types.js';
import { decode, withVersion } from './codec.js';
import type {
  DeleteOptions,
  KubeList,
  ListOptions,
  RequestContext,
  WatchEventOut,
  WatchOptions,
  WatchSession,
} from './context.js';
import { DeletableStore } from './deletion.js';
import { collectionPrefix } from './keys.js';
import { compileSelection, type Selection } from './selection.js';

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';
const TOO_LARGE_WAIT_MS = 3000;
const DEFAULT_BOOKMARK_MS = 60_000;

/**
 * storage's APIObjectVersioner.ParseResourceVersion: "" and "0" are 0; anything else must be a uint64, else
 * storage's InvalidError (`resourceVersion: Invalid value: "x": strconv.ParseUint: ...`), which kube-apiserver
 * answers as a plain 500 from the watch cache and as a 400 from etcd's list (`delegated`).
 */
function parseRevision(rv: string, delegated = false): number {
  if (rv === '' || rv === '0') return 0;
  let why = '';
  if (!/^\d+$/.test(rv)) why = `strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`;
  else if (BigInt(rv) > 18446744073709551615n)
    why = `strconv.ParseUint: parsing ${JSON.stringify(rv)}: value out of range`;
  if (!why) return Number(rv);
  const text = `resourceVersion: Invalid value: ${JSON.stringify(rv)}: ${why}`;
  throw delegated ? badRequest(`invalid resource version: ${text}`) : plainError(text);
}

function validateListOptions(o: ListOptions): void {
  const errs: FieldError[] = [];
  const match = o.resourceVersionMatch;
  if (match) {
    if (!o.resourceVersion)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'resourceVersionMatch',
        detail: 'resourceVersionMatch is forbidden unless resourceVersion is provided',
      });
    if (o.continue)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'resourceVersionMatch',
        detail: 'resourceVersionMatch is forbidden when continue is provided',
      });
    if (match !== 'Exact' && match !== 'NotOlderThan')
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'resourceVersionMatch',
        badValue: match,
        detail: 'supported values: "Exact", "NotOlderThan", ""',
      });
    if (match === 'Exact' && o.resourceVersion === '0')
      errs.push({
        type: 'FieldValueForbidden',
        field: 'resourceVersionMatch',
        detail: 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      });
  }
  if (o.sendInitialEvents !== undefined)
    errs.push({
      type: 'FieldValueForbidden',
      field: 'sendInitialEvents',
      detail: 'sendInitialEvents is forbidden for list',
    });
  if (errs.length) throw invalid('ListOptions', '', errs, 'meta.k8s.io');
}

/** validateWatchOptions (WatchList on, as in kube-apiserver 1.32): resourceVersionMatch only with sendInitialEvents. */
function validateWatchOptions(o: WatchOptions): void {
  const errs: FieldError[] = [];
  const match = o.resourceVersionMatch;
  if (o.sendInitialEvents !== undefined && match !== 'NotOlderThan')
    errs.push({
      type: 'FieldValueForbidden',
      field: 'resourceVersionMatch',
      detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    });
  if (match) {
    if (o.sendInitialEvents === undefined)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'resourceVersionMatch',
        detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      });
    if (match !== 'NotOlderThan')
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'resourceVersionMatch',
        badValue: match,
        detail: 'supported values: "NotOlderThan"',
      });
  }
  if (errs.length) throw invalid('ListOptions', '', errs, 'meta.k8s.io');
}

export class CollectionStore extends DeletableStore {
  private listKind(): { apiVersion: string; kind: string } {
    return { apiVersion: apiVersionOf(this.type), kind: this.type.listKind };
  }

  /** NotOlderThan `rv`: the store must have reached it (504 "Too large resource version" after 3 s). */
  private async notOlderThan(rv: number): Promise<void> {
    let current = await this.deps.store.revision();
    if (rv <= current) return;
    await this.deps.hub.waitFor(rv, TOO_LARGE_WAIT_MS);
    current = await this.deps.store.revision();
    if (rv <= current) return;
    throw new KubeError(
      'Timeout',
      `Timeout: Too large resource version: ${rv}, current: ${current}`,
      {},
      [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      1,
    );
  }

  async list(namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    validateListOptions(opts);
    const sel = compileSelection(this.type, opts.labelSelector, opts.fieldSelector);
    const prefix = collectionPrefix(this.type, namespace);
    // The watch cache serves resourceVersion=0 whole: the limit is ignored (computeListLimit).
    const limit = opts.limit && opts.limit > 0 && opts.resourceVersion !== '0' ? Math.floor(opts.limit) : 0;
    let revision = 0;
    let after: string | undefined;
    let startKey: string | undefined;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      if (opts.resourceVersion && opts.resourceVersion !== '0')
        throw badRequest('specifying resource version is not allowed when using continue');
      revision = c.revision ?? 0;
      after = c.after;
      startKey = c.startKey;
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      // An exact revision (resourceVersionMatch=Exact, or a limit without a match: the legacy rule) is read from
      // the store's history; otherwise the list is served once the store has reached the revision.
      const exact = opts.resourceVersionMatch === 'Exact' || (!opts.resourceVersionMatch && limit > 0);
      const rv = parseRevision(opts.resourceVersion, exact);
      if (exact) revision = rv;
      else await this.notOlderThan(rv);
    }
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    let remaining = 0;
    for (;;) {
      const want = limit ? Math.max(limit - items.length, sel.filtered ? 100 : 0) : 0;
      let page;
      try {
        page = await this.deps.store.list(prefix, {
          ...(revision ? { revision } : {}),
          ...(after ? { after } : {}),
          ...(want ? { limit: want } : {}),
        });
      } catch (e) {
        if (!isKubeError(e, 'Expired')) throw e;
        if (startKey === undefined) throw expired('The resourceVersion for the provided list is too old.');
        // The remainder can still be listed at the latest revision, inconsistently: the 410 says so and carries
        // a token for it (rv -1).
        const err = expired(CONTINUE_EXPIRED);
        err.listContinue = encodeContinue(startKey, prefix, -1);
        throw err;
      }
      revision = page.revision;
      let i = 0;
      for (; i < page.items.length; i++) {
        const kv = page.items[i];
        const obj = decode(this.type, kv);
        after = kv.key;
        if (!sel.matches(obj)) continue;
        items.push(obj);
        if (limit && items.length >= limit) {
          lastKey = kv.key;
          i++;
          break;
        }
      }
      const leftInPage = page.items.length - i;
      if (limit && items.length >= limit) {
        more = leftInPage > 0 || page.remaining > 0;
        remaining = leftInPage + page.remaining;
        break;
      }
      if (!want || page.remaining === 0 || page.items.length === 0) break;
    }
    const metadata: KubeList['metadata'] = { resourceVersion: String(revision) };
    if (more && lastKey) {
      metadata.continue = continueAfter(lastKey, prefix, revision);
      if (!sel.filtered) metadata.remainingItemCount = remaining;
    }
    return { ...this.listKind(), metadata, items };
  }

  /** Starts a watch; events go to `sink` until stop(), the timeout, or an ERROR event. */
  async watch(
    namespace: string | undefined,
    opts: WatchOptions,
    sink: (e: WatchEventOut) => void,
  ): Promise<WatchSession> {
    const t = this.type;
    const sel = compileSelection(t, opts.labelSelector, opts.fieldSelector);
    const prefix = collectionPrefix(t, namespace);
    let finished = false;
    let endWatch!: () => void;
    const done = new Promise<void>((r) => (endWatch = r));
    const timers: NodeJS.Timeout[] = [];
    const sub: { handle?: { stop(): void } } = {};
    let lastRv = 0;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const tm of timers) clearTimeout(tm);
      sub.handle?.stop();
      endWatch();
    };
    const send = (e: WatchEventOut) => {
      if (!finished) sink(e);
    };
    const fail = (err: unknown) => {
      send({ type: 'ERROR', object: statusOf(err) as unknown as KubeObject });
      finish();
    };

    validateWatchOptions(opts);
    let start: number;
    const rvText = opts.resourceVersion ?? '';
    const fromNow = rvText === '' || rvText === '0';
    if (opts.sendInitialEvents ?? fromNow) {
      // The current state (once the store reached the asked revision) as ADDED events, then the changes after it.
      if (!fromNow) await this.notOlderThan(parseRevision(rvText));
      const current = await this.list(namespace, {
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      });
      start = Number(current.metadata.resourceVersion);
      for (const obj of current.items) send({ type: 'ADDED', object: obj });
      if (opts.sendInitialEvents && opts.allowWatchBookmarks)
        send({
          type: 'BOOKMARK',
          object: {
            kind: t.kind,
            apiVersion: apiVersionOf(t),
            metadata: {
              resourceVersion: String(start),
              annotations: { 'k8s.io/initial-events-end': 'true' },
            },
          },
        });
    } else {
      start = fromNow ? await this.deps.store.revision() : parseRevision(rvText);
    }
    lastRv = start;
    const compacted = await this.deps.store.compactedRevision();
    if (start < compacted) {
      fail(expired(`too old resource version: ${start} (${compacted})`));
      return { stop: finish, done };
    }
    const onEvent = (e: WatchEvent) => {
      if (finished) return;
      const out = this.translate(e, sel);
      if (e.type !== 'progress') lastRv = e.type === 'put' ? e.kv.modRevision : e.revision;
      if (out) send(out);
    };
    const onError = (err: Error) => {
      // Expired: the 410 ERROR event (the client relists). Anything else ends the stream; the client resumes from
      // the last resourceVersion it saw, as it does after a timeout.
      if (isKubeError(err, 'Expired')) fail(expired(`too old resource version: ${start} (${compacted})`));
      else finish();
    };
    sub.handle = await this.deps.hub.subscribe(prefix, start, { onEvent, onError });
    if (finished) sub.handle.stop();
    if (opts.timeoutSeconds && opts.timeoutSeconds > 0)
      timers.push(setTimeout(finish, opts.timeoutSeconds * 1000));
    if (opts.allowWatchBookmarks) {
      const every = opts.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_MS;
      const tick = () => {
        if (finished) return;
        const rv = Math.max(lastRv, this.deps.hub.covers(start) ? this.deps.hub.revision : 0);
        send({
          type: 'BOOKMARK',
          object: { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(rv) } },
        });
        timers.push(setTimeout(tick, every));
      };
      timers.push(setTimeout(tick, every));
    }
    return { stop: finish, done };
  }

  /** A store event as this watcher sees it: objects entering or leaving its selection are ADDED or DELETED. */
  private translate(e: WatchEvent, sel: Selection): WatchEventOut | undefined {
    if (e.type === 'progress') return undefined;
    if (e.type === 'delete') {
      const obj = withVersion(this.type, decode(this.type, e.prev), e.revision);
      return sel.matches(obj) ? { type: 'DELETED', object: obj } : undefined;
    }
    const obj = decode(this.type, e.kv);
    const now = sel.matches(obj);
    const created = !e.prev || e.kv.createRevision === e.kv.modRevision;
    if (created) return now ? { type: 'ADDED', object: obj } : undefined;
    if (!sel.filtered) return { type: 'MODIFIED', object: obj };
    const before = sel.matches(decode(this.type, e.prev!));
    if (now && before) return { type: 'MODIFIED', object: obj };
    if (now) return { type: 'ADDED', object: obj };
    if (before) return { type: 'DELETED', object: obj };
    return undefined;
  }

  /**
   * DELETE on the collection: every selected object, one by one (kube-apiserver is not atomic either); the answer
   * is the list as it was read, before the deletes (a limit deletes, and answers, one page).
   */
  async deleteCollection(
    ctx: RequestContext,
    namespace: string | undefined,
    listOpts: ListOptions,
    deleteOpts: DeleteOptions,
  ): Promise<KubeList> {
    const listed = await this.list(namespace, listOpts);
    for (const obj of listed.items) {
      try {
        await this.delete(ctx, obj.metadata?.namespace, obj.metadata!.name!, deleteOpts);
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
    }
    return listed;
  }
}

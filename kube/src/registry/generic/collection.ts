/**
 * Lists, watches and deletecollection of one resource: resourceVersion and resourceVersionMatch as
 * kube-apiserver reads them, paging with an opaque continue token (the list's revision and the last key; 410
 * once that revision is compacted), selectors, and watches fanned out from the hub with bookmarks, timeouts and
 * the 410 ERROR event for a compacted revision.
 */
import { badRequest, expired, invalid, isKubeError, KubeError, type FieldError } from '../../errors.js';
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

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string, prefix: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: `${lastKey.slice(prefix.length)}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(token: string, prefix: string): { rv: number; after: string } {
  let t: ContinueToken;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data or JSON');
  }
  if (t.v !== 'meta.k8s.io/v1')
    throw badRequest('continue key is not valid: server does not recognize this encoded key');
  if (!Number.isInteger(t.rv) || t.rv <= 0)
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  if (typeof t.start !== 'string' || !t.start || t.start.includes('..') || t.start.startsWith('/'))
    throw badRequest('continue key is not valid: encoded start key is not valid');
  // Keys strictly after the last one returned: the token's start is that key plus a NUL.
  return { rv: t.rv, after: prefix + t.start.replace(/\u0000$/, '') };
}

function parseRevision(rv: string): number {
  if (!/^\d+$/.test(rv))
    throw invalid(
      'ListOptions',
      '',
      [
        {
          type: 'FieldValueInvalid',
          field: 'resourceVersion',
          badValue: rv,
          detail: 'invalid resource version',
        },
      ],
      'meta.k8s.io',
    );
  return Number(rv);
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
    const limit = opts.limit && opts.limit > 0 ? Math.floor(opts.limit) : 0;
    let revision = 0;
    let after: string | undefined;
    let fromContinue = false;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      revision = c.rv;
      after = c.after;
      fromContinue = true;
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const rv = parseRevision(opts.resourceVersion);
      const exact = opts.resourceVersionMatch === 'Exact' || (!opts.resourceVersionMatch && limit > 0);
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
        if (isKubeError(e, 'Expired'))
          throw expired(
            fromContinue ? CONTINUE_EXPIRED : 'The resourceVersion for the provided list is too old.',
          );
        throw e;
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
      metadata.continue = encodeContinue(revision, lastKey, prefix);
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

    let start: number;
    const rvText = opts.resourceVersion;
    if (!rvText || rvText === '0') {
      // No starting point: the current state as ADDED events, then the changes after it.
      const current = await this.list(namespace, {
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      });
      start = Number(current.metadata.resourceVersion);
      for (const obj of current.items) send({ type: 'ADDED', object: obj });
    } else {
      start = parseRevision(rvText);
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

  /** DELETE on the collection: every selected object, one by one (kube-apiserver is not atomic either). */
  async deleteCollection(
    ctx: RequestContext,
    namespace: string | undefined,
    listOpts: ListOptions,
    deleteOpts: DeleteOptions,
  ): Promise<KubeList> {
    const listed = await this.list(namespace, listOpts);
    const deleted: KubeObject[] = [];
    for (const obj of listed.items) {
      try {
        const r = await this.delete(ctx, obj.metadata?.namespace, obj.metadata!.name!, deleteOpts);
        deleted.push(r.object);
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
    }
    return { ...listed, items: deleted };
  }
}

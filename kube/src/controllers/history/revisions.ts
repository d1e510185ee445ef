/**
 * ControllerRevisions as StatefulSets and DaemonSets keep them (pkg/controller/history): each revision's `data` is
 * the strategic merge patch `{"spec":{"template":{..., "$patch":"replace"}}}` that `kubectl rollout undo` applies,
 * named `<owner>-<hash>` (FNV-32a of the data and the collision count, in the safe alphabet), labelled with the
 * template's labels and owned by its controller. A template that matches an older revision reuses it (its
 * revision number moves to the top), so undo does not copy history; old revisions no live pod uses are pruned past
 * revisionHistoryLimit.
 */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import { deepEqual } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';
import type { LabelSelector } from '../../selectors/labels.js';
import { claim, ownerStillThere } from '../framework/claim.js';
import type { Informer } from '../framework/informer.js';
import { controllerRef, type OwnerLike } from '../framework/pods.js';
import type { ControllerRevision, PodTemplateSpec } from '../framework/types.js';

/** The label pods and revisions carry: a StatefulSet's pods the revision's name, a DaemonSet's the hash. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with sorted keys and nulls dropped, as Go's json.Marshal of the decoded map prints it. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] != null)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The revision data for a template: the patch that puts it back whole. */
export function templatePatch(template: PodTemplateSpec | undefined): Record<string, unknown> {
  return JSON.parse(
    canonicalJson({ spec: { template: { ...(template ?? {}), $patch: 'replace' } } }),
  ) as Record<string, unknown>;
}

/** history.HashControllerRevision: FNV-32a of the data (and the collision count), safe-encoded. */
export function hashRevision(data: unknown, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(canonicalJson(data));
  const tail = collisionCount ? Buffer.alloc(4) : Buffer.alloc(0);
  if (collisionCount) tail.writeUInt32LE(collisionCount >>> 0);
  for (const b of [...bytes, ...tail]) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
}

export const revisionNumber = (r: ControllerRevision): number => Number(r.revision ?? 0) || 0;

const byRevision = (a: ControllerRevision, b: ControllerRevision): number =>
  revisionNumber(a) - revisionNumber(b) ||
  (Date.parse(a.metadata?.creationTimestamp ?? '') || 0) -
    (Date.parse(b.metadata?.creationTimestamp ?? '') || 0) ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

export interface HistoryOwner extends OwnerLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec?: { template?: PodTemplateSpec; revisionHistoryLimit?: number };
  status?: { collisionCount?: number };
}

export interface Revisions {
  /** Every revision the owner controls, oldest first. */
  all: ControllerRevision[];
  /** The revision of the owner's template now. */
  update: ControllerRevision;
  collisionCount: number;
}

/** The owner's revisions, read from the shared informer and claimed as pods are. */
export class RevisionHistory {
  constructor(
    private readonly rc: ResourceClient<ControllerRevision>,
    private readonly informer: Informer<ControllerRevision>,
    private readonly ownerClient: ResourceClient<KubeObject>,
    /** Extra labels for a new revision (a DaemonSet's carry the hash). */
    private readonly extraLabels: (hash: string) => Record<string, string> = () => ({}),
  ) {}

  async claimed(owner: HistoryOwner, selector: LabelSelector): Promise<ControllerRevision[]> {
    const ns = owner.metadata?.namespace ?? '';
    const list = await claim(this.informer.list(ns), {
      owner,
      selector,
      rc: this.rc,
      canAdopt: ownerStillThere(this.ownerClient, owner),
    });
    return list.sort(byRevision);
  }

  /**
   * The update revision for the owner's template: an existing one with the same data (moved to the newest
   * revision number when it is not), or a new one. A name taken by other data raises the collision count.
   */
  async ensure(owner: HistoryOwner, selector: LabelSelector): Promise<Revisions> {
    const all = await this.claimed(owner, selector);
    const data = templatePatch(owner.spec?.template);
    const next = Math.max(0, ...all.map(revisionNumber)) + 1;
    const equal = all.filter((r) => deepEqual(r.data, data));
    let collisionCount = owner.status?.collisionCount ?? 0;
    if (equal.length) {
      const last = equal[equal.length - 1];
      if (last === all[all.length - 1]) return { all, update: last, collisionCount };
      const moved = await this.rc.update({ ...last, revision: next });
      return { all: [...all.filter((r) => r !== last), moved], update: moved, collisionCount };
    }
    const ns = owner.metadata?.namespace ?? '';
    for (;;) {
      const hash = hashRevision(data, collisionCount);
      const name = `${(owner.metadata?.name ?? '').slice(0, 223)}-${hash}`;
      const rev: ControllerRevision = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), ...this.extraLabels(hash) },
          // The owner's annotations go along: `kubectl rollout history` reads change-cause from them.
          ...(owner.metadata?.annotations ? { annotations: { ...owner.metadata.annotations } } : {}),
          ownerReferences: [controllerRef(owner)],
        },
        data,
        revision: next,
      };
      try {
        const created = await this.rc.create(rev);
        return { all: [...all, created], update: created, collisionCount };
      } catch (e) {
        if (!isKubeError(e, 'AlreadyExists')) throw e;
        const existing = await this.rc.get(name, { namespace: ns });
        const ours = existing.metadata?.ownerReferences?.some((r) => r.uid === owner.metadata?.uid);
        // Ours with the same data: the informer has not caught up yet.
        if (ours && deepEqual(existing.data, data)) {
          const moved =
            revisionNumber(existing) === next
              ? existing
              : await this.rc.update({ ...existing, revision: next });
          return {
            all: [...all.filter((r) => r.metadata?.name !== name), moved],
            update: moved,
            collisionCount,
          };
        }
        collisionCount++;
      }
    }
  }

  /** Deletes the oldest revisions past the limit that are neither kept (current/update) nor used by a live pod. */
  async truncate(all: ControllerRevision[], limit: number, keep: Set<string>): Promise<void> {
    const prunable = all.filter((r) => !keep.has(r.metadata?.name ?? ''));
    const excess = prunable.length - limit;
    for (const r of prunable.slice(0, Math.max(0, excess))) {
      try {
        await this.rc.delete(r.metadata?.name ?? '', { namespace: r.metadata?.namespace ?? '' });
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
      }
    }
  }
}

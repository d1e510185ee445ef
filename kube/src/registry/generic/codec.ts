/**
 * Objects to and from their stored form: JSON text without resourceVersion (the store's revision is the
 * resourceVersion: it is set on every read, never stored) and without selfLink. Types served in another version
 * than the one stored convert here (ResourceType.storedAs).
 */
import type { KeyValue } from '../../store/types.js';
import { apiVersionOf } from '../catalog.js';
import type { KubeObject, ResourceType } from '../types.js';

/** ObjectMeta's `omitempty` fields: Go drops them when empty ("", 0, empty map or list), so they are not stored. */
const OMIT_EMPTY = [
  'generateName',
  'namespace',
  'uid',
  'generation',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
] as const;

function isEmpty(v: unknown): boolean {
  if (v === '' || v === 0 || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

export function encode(t: ResourceType, obj: KubeObject): string {
  const stored = t.storedAs ? t.storedAs.toStorage(obj) : obj;
  const meta: Record<string, unknown> = stored.metadata ? { ...stored.metadata } : {};
  delete meta.resourceVersion;
  delete meta.selfLink;
  for (const k of OMIT_EMPTY) if (k in meta && isEmpty(meta[k])) delete meta[k];
  return JSON.stringify({ ...stored, metadata: meta });
}

/** The object of a key-value as `t` serves it, with metadata.resourceVersion = the key's modRevision. */
export function decode(t: ResourceType, kv: Pick<KeyValue, 'value' | 'modRevision'>): KubeObject {
  let obj = JSON.parse(kv.value) as KubeObject;
  if (t.storedAs) obj = t.storedAs.fromStorage(obj);
  return withVersion(t, obj, kv.modRevision);
}

/** ObjectMeta's fields in Go's struct order, as kube-apiserver writes them. */
const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

export function orderMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of META_ORDER) if (meta[k] !== undefined) out[k] = meta[k];
  for (const k of Object.keys(meta)) if (!(k in out) && meta[k] !== undefined) out[k] = meta[k];
  return out;
}

export function withVersion(t: ResourceType, obj: KubeObject, revision: number | string): KubeObject {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = obj;
  void _a;
  void _k;
  return {
    apiVersion: apiVersionOf(t),
    kind: t.kind,
    metadata: orderMeta({ ...metadata, resourceVersion: String(revision) }),
    ...rest,
  };
}

export function deepCopy<T>(v: T): T {
  return structuredClone(v);
}

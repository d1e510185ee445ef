/** The metadata rules kube-apiserver applies around every kind's strategy (registry/rest/create.go, update.go). */
import { randomInt, randomUUID } from 'node:crypto';
import { badRequest, invalid, type FieldError } from '../../errors.js';
import { nameIsDNSSubdomain } from '../validation/names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from '../validation/meta.js';
import type { KubeObject, ObjectMeta, ResourceType } from '../types.js';

/** RFC 3339 at second precision, as metav1.Time marshals. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** names.SimpleNameGenerator: the prefix (cut to leave room) and five random characters. */
export function generateName(base: string): string {
  const prefix = base.length > 58 ? base.slice(0, 58) : base;
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return prefix + s;
}

export function metaOf(obj: KubeObject): ObjectMeta {
  obj.metadata ??= {};
  return obj.metadata;
}

/** EnsureObjectNamespaceMatchesRequestNamespace. */
export function matchNamespace(
  t: ResourceType,
  meta: ObjectMeta,
  requestNamespace: string | undefined,
): void {
  const want = t.namespaced ? (requestNamespace ?? '') : '';
  const have = meta.namespace ?? '';
  if (have === want) return;
  if (have === '' || want === '') {
    if (want) meta.namespace = want;
    else delete meta.namespace;
    return;
  }
  throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

/** WipeObjectMetaSystemFields + FillObjectMetaSystemFields. */
export function fillSystemFields(meta: ObjectMeta, now: Date): void {
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  meta.creationTimestamp = rfc3339(now);
  meta.uid = randomUUID();
}

export function createErrors(t: ResourceType, obj: KubeObject, strategyErrors: FieldError[]): void {
  const meta = metaOf(obj);
  // ObjectMeta's errors first, then the kind's (as each kind's Validate* in kube-apiserver orders them).
  const errs = [
    ...validateObjectMeta(meta, t.namespaced, t.strategy.nameValidator ?? nameIsDNSSubdomain),
    ...strategyErrors,
  ];
  if (errs.length) throw invalid(t.kind, meta.name ?? '', errs, t.group || undefined);
}

export function updateErrors(
  t: ResourceType,
  obj: KubeObject,
  old: KubeObject,
  strategyErrors: FieldError[],
): void {
  const errs = [...validateObjectMetaUpdate(metaOf(obj), metaOf(old)), ...strategyErrors];
  if (errs.length) throw invalid(t.kind, obj.metadata?.name ?? '', errs, t.group || undefined);
}

/** Structural equality of JSON values, key order ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** Whether a write changes what metadata.generation tracks for this kind. */
export function generationChanged(t: ResourceType, obj: KubeObject, old: KubeObject): boolean {
  if (t.strategy.generation === 'spec') return !deepEqual(obj.spec, old.spec);
  if (t.strategy.generation === 'nonStatus') {
    const strip = (o: KubeObject) => {
      const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
      void _m;
      void _s;
      void _a;
      void _k;
      return rest;
    };
    return !deepEqual(strip(obj), strip(old));
  }
  return false;
}

export const hasSubresource = (t: ResourceType, name: string): boolean =>
  t.subresources?.some((s) => s.name === name) ?? false;

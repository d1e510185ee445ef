/**
 * pods/ephemeralcontainers (kubectl debug): an update through it changes spec.ephemeralContainers only, adding
 * containers, never changing or removing one (kube-apiserver's EphemeralContainersStrategy and
 * ValidatePodEphemeralContainersUpdate, with its words).
 */
import type { FieldError } from '../../errors.js';
import { isDNS1123Label } from '../validation/names.js';
import type { KubeObject } from '../types.js';
import { defaultContainer, type ContainerLike } from './podspec.js';

type Spec = Record<string, unknown> & {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  ephemeralContainers?: ContainerLike[];
};

const specOf = (o: KubeObject) => (o.spec ?? {}) as Spec;

/** Fields an ephemeral container may not set (validateEphemeralContainers' list). */
const FORBIDDEN = [
  'ports',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'resizePolicy',
  'restartPolicy',
];

/** The pod as stored with the request's spec.ephemeralContainers, defaulted. */
export function withEphemeralContainers(requested: KubeObject, old: KubeObject): KubeObject {
  const list = specOf(requested).ephemeralContainers;
  const spec: Spec = { ...specOf(old) };
  if (list?.length) {
    for (const c of list) defaultContainer(c);
    // Resources are forbidden on ephemeral containers: the default {} would be one.
    for (const c of list) if (c.resources && !Object.keys(c.resources).length) delete c.resources;
    spec.ephemeralContainers = list;
  } else delete spec.ephemeralContainers;
  return { ...old, spec };
}

export function validateEphemeralUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(obj);
  const list = spec.ephemeralContainers ?? [];
  const before = new Map((specOf(old).ephemeralContainers ?? []).map((c) => [c.name, c]));
  const others = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
  const seen = new Set<string | undefined>(others);
  for (const [i, c] of list.entries()) {
    const p = `spec.ephemeralContainers[${i}]`;
    if (!c.name) errs.push({ type: 'FieldValueRequired', field: `${p}.name` });
    else {
      for (const m of isDNS1123Label(c.name))
        errs.push({ type: 'FieldValueInvalid', field: `${p}.name`, badValue: c.name, detail: m });
      if (seen.has(c.name)) errs.push({ type: 'FieldValueDuplicate', field: `${p}.name`, badValue: c.name });
      seen.add(c.name);
    }
    if (!c.image) errs.push({ type: 'FieldValueRequired', field: `${p}.image` });
    for (const f of FORBIDDEN)
      if (c[f] !== undefined)
        errs.push({
          type: 'FieldValueForbidden',
          field: `${p}.${f}`,
          detail: 'cannot be set for an Ephemeral Container',
        });
    if (c.resources !== undefined)
      errs.push({
        type: 'FieldValueForbidden',
        field: `${p}.resources`,
        detail: 'cannot be set for an Ephemeral Container',
      });
    const target = c.targetContainerName as string | undefined;
    if (target && !others.includes(target))
      errs.push({ type: 'FieldValueNotFound', field: `${p}.targetContainerName`, badValue: target });
    const prev = c.name ? before.get(c.name) : undefined;
    if (prev && JSON.stringify(prev) !== JSON.stringify(c))
      errs.push({
        type: 'FieldValueForbidden',
        field: p,
        detail: `existing ephemeral containers "${c.name}" may not be changed`,
      });
  }
  const kept = new Set(list.map((c) => c.name));
  for (const name of before.keys())
    if (!kept.has(name))
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec.ephemeralContainers',
        detail: `existing ephemeral containers "${name}" may not be removed`,
      });
  return errs;
}

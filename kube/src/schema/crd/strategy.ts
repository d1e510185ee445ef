/**
 * The CustomResourceDefinition kind's rules (apiextensions-apiserver's registry strategy and its status
 * controllers): defaults, validation, status kept out of spec writes, the storage version recorded in
 * status.storedVersions, and the status the naming and establishing controllers compute (NamesAccepted,
 * Established, acceptedNames). The cleanup finalizer is set at create, so a deleted CRD waits (Terminating) until
 * its custom resources are gone; kube-apiserver adds the same finalizer when the delete arrives.
 */
import { rfc3339 } from '../../registry/generic/metadata.js';
import type { KubeObject, Strategy } from '../../registry/types.js';
import type { CrdCondition, CrdNames, CustomResourceDefinition } from './types.js';
import { CREATED_DOC, NAME_DOC } from './columns.js';
import { validateCrd, validateCrdUpdate } from './validation.js';
import { deepEqual } from './values.js';

export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const asCrd = (o: KubeObject) => o as CustomResourceDefinition;

/** SetDefaults_CustomResourceDefinitionSpec. */
export function defaultCrd(crd: CustomResourceDefinition): void {
  const spec = crd.spec;
  if (!spec) return;
  const names = spec.names;
  if (names?.kind) {
    if (!names.singular) names.singular = names.kind.toLowerCase();
    if (!names.listKind) names.listKind = `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
  if (spec.preserveUnknownFields === undefined) delete spec.preserveUnknownFields;
}

export const crdStrategy: Strategy = {
  generation: 'spec',
  defaults: (obj) => defaultCrd(asCrd(obj)),
  prepareForCreate(obj) {
    const crd = asCrd(obj);
    const storage = crd.spec?.versions?.find((v) => v.storage);
    crd.status = { storedVersions: storage ? [storage.name] : [] };
    if (crd.metadata) {
      const f = crd.metadata.finalizers ?? [];
      if (!f.includes(CLEANUP_FINALIZER)) crd.metadata.finalizers = [...f, CLEANUP_FINALIZER];
    }
  },
  prepareForUpdate(obj, old) {
    const crd = asCrd(obj);
    crd.status = asCrd(old).status;
    // A new storage version joins the stored versions.
    const storage = crd.spec?.versions?.find((v) => v.storage);
    const stored = crd.status?.storedVersions ?? [];
    if (storage && !stored.includes(storage.name))
      crd.status = { ...(crd.status ?? {}), storedVersions: [...stored, storage.name] };
  },
  prepareForStatusUpdate(obj, old) {
    const crd = asCrd(obj);
    crd.spec = asCrd(old).spec;
  },
  validate: (obj) => validateCrd(asCrd(obj)),
  // rest.NewDefaultTableConvertor, which kube-apiserver uses for CRDs: NAME and CREATED AT.
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: NAME_DOC, priority: 0 },
      { name: 'Created At', type: 'date', description: CREATED_DOC, priority: 0 },
    ],
    cells: (obj) => [obj.metadata?.name ?? '', obj.metadata?.creationTimestamp ?? null],
  },
  validateUpdate: (obj, old) => validateCrdUpdate(asCrd(obj), asCrd(old)),
};

function condition(
  type: string,
  status: CrdCondition['status'],
  reason: string,
  message: string,
): CrdCondition {
  return { type, status, reason, message };
}

/** A name a CRD wants, unless it already has it or another CRD of the group holds it. */
function fresh(
  requested: string | undefined,
  accepted: string | undefined,
  used: Set<string>,
): string | undefined {
  if (!requested || requested === accepted || !used.has(requested)) return undefined;
  return `${JSON.stringify(requested)} is already in use`;
}

/**
 * The status the naming and establishing controllers give `crd`, given the other CRDs of its group: accepted
 * names, NamesAccepted, Established (True once names were accepted: berth-kube serves them at once).
 */
export function crdStatus(
  crd: CustomResourceDefinition,
  others: CustomResourceDefinition[],
  now: Date,
): NonNullable<CustomResourceDefinition['status']> {
  const used = new Set<string>();
  const kinds = new Set<string>();
  for (const o of others) {
    if (o.metadata?.name === crd.metadata?.name || o.spec.group !== crd.spec.group) continue;
    const n = o.status?.acceptedNames;
    if (!n) continue;
    for (const x of [n.plural, n.singular, ...(n.shortNames ?? [])]) if (x) used.add(x);
    for (const x of [n.kind, n.listKind]) if (x) kinds.add(x);
  }
  const requested = crd.spec.names;
  const accepted: Partial<CrdNames> = crd.status?.acceptedNames ?? {};
  const names: CrdNames = { plural: accepted.plural ?? '', kind: accepted.kind ?? '', ...accepted };
  let conflict: CrdCondition | undefined;
  const take = (key: 'plural' | 'singular' | 'kind' | 'listKind', pool: Set<string>, reason: string) => {
    const err = fresh(requested[key], accepted[key], pool);
    if (err) conflict = condition('NamesAccepted', 'False', reason, err);
    else if (requested[key] !== undefined) names[key] = requested[key];
  };
  take('plural', used, 'PluralConflict');
  take('singular', used, 'SingularConflict');
  if (!deepEqual(requested.shortNames, accepted.shortNames)) {
    const have = new Set(accepted.shortNames ?? []);
    const errs = (requested.shortNames ?? [])
      .filter((s) => !have.has(s) && used.has(s))
      .map((s) => `${JSON.stringify(s)} is already in use`);
    if (errs.length)
      conflict = condition(
        'NamesAccepted',
        'False',
        'ShortNamesConflict',
        errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`,
      );
    else if (requested.shortNames) names.shortNames = requested.shortNames;
    else delete names.shortNames;
  }
  take('kind', kinds, 'KindConflict');
  take('listKind', kinds, 'ListKindConflict');
  if (requested.categories) names.categories = requested.categories;
  else delete names.categories;
  const namesAccepted = conflict ?? condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found');
  const previous = (crd.status?.conditions ?? []).find((c) => c.type === 'Established');
  const established =
    previous?.status === 'True'
      ? previous
      : namesAccepted.status === 'True'
        ? condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted')
        : condition('Established', 'False', 'NotAccepted', 'not all names are accepted');
  const stamp = (c: CrdCondition): CrdCondition => {
    const before = (crd.status?.conditions ?? []).find((x) => x.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        before && before.status === c.status ? (before.lastTransitionTime ?? rfc3339(now)) : rfc3339(now),
    };
  };
  const kept = (crd.status?.conditions ?? []).filter(
    (c) => c.type !== 'NamesAccepted' && c.type !== 'Established',
  );
  return {
    ...(crd.status ?? {}),
    acceptedNames: names,
    conditions: [stamp(namesAccepted), stamp(established), ...kept],
  };
}

/** Is the CRD's name set accepted and the API being served? */
export const isEstablished = (crd: CustomResourceDefinition): boolean =>
  (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');

/** The Terminating condition a CRD carries while its custom resources are deleted. */
export function terminating(
  crd: CustomResourceDefinition,
  now: Date,
  pending: number,
): NonNullable<CustomResourceDefinition['status']> {
  const c: CrdCondition =
    pending > 0
      ? {
          type: 'Terminating',
          status: 'True',
          reason: 'InstanceDeletionInProgress',
          message: 'CustomResource deletion is in progress',
          lastTransitionTime: rfc3339(now),
        }
      : {
          type: 'Terminating',
          status: 'True',
          reason: 'InstanceDeletionCompleted',
          message: 'removed all instances',
          lastTransitionTime: rfc3339(now),
        };
  const conditions = (crd.status?.conditions ?? []).filter((x) => x.type !== 'Terminating');
  return { ...(crd.status ?? {}), conditions: [...conditions, c] };
}

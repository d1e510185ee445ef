/**
 * Namespaces: DNS-1123 label names, the `kubernetes.io/metadata.name` label, spec.finalizers ["kubernetes"] (the
 * namespace controller removes it once the namespace is empty, through namespaces/finalize), phase Active or
 * Terminating. Deleting one is two-phase: see the namespace rules in registry/generic.
 */
import { AGE_COLUMN, NAME_COLUMN, age, col } from '../printing.js';
import { nameIsDNSLabel } from '../validation/names.js';
import type { KubeObject, Strategy } from '../types.js';

export const NAMESPACE_FINALIZER = 'kubernetes';
export const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function namespacePhase(ns: KubeObject): string {
  return (ns.status as { phase?: string } | undefined)?.phase ?? 'Active';
}

export const namespaceStrategy: Strategy = {
  nameValidator: nameIsDNSLabel,
  defaults(obj) {
    const name = obj.metadata?.name;
    if (name) obj.metadata!.labels = { ...obj.metadata!.labels, 'kubernetes.io/metadata.name': name };
  },
  prepareForCreate(obj) {
    obj.spec = { finalizers: [NAMESPACE_FINALIZER] };
    obj.status = { phase: 'Active' };
  },
  prepareForUpdate(obj, old) {
    // spec.finalizers change only through namespaces/finalize; status only through namespaces/status.
    obj.spec = old.spec;
    obj.status = old.status;
  },
  initialStatus: () => ({ phase: 'Active' }),
  fieldSelectors: { 'status.phase': (o) => namespacePhase(o) },
  table: {
    columns: [NAME_COLUMN, col('Status', 'string', 0, 'The status of the namespace'), AGE_COLUMN],
    cells: (o) => [o.metadata?.name, namespacePhase(o), age(o)],
  },
};

/**
 * The admission seam, as kube-apiserver's (k8s.io/apiserver/pkg/admission): every write, over HTTP or from the
 * in-process client, passes the mutating plugins in order, then (after the object's own rules) the validating
 * ones. A plugin rejects by throwing a KubeError (Forbidden, Invalid, TooManyRequests...). ResourceQuota,
 * LimitRanger, ServiceAccount and the webhook callers plug in here.
 */
import type { GroupVersionKind, KubeObject, RequestUser } from '../registry/types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionAttributes {
  operation: Operation;
  /** The kind of the object the request carries (Scale for deployments/scale). */
  kind: GroupVersionKind;
  resource: { group: string; version: string; resource: string };
  subresource: string;
  name: string;
  /** '' for cluster-scoped resources. */
  namespace: string;
  user: RequestUser;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / DeleteOptions of the request. */
  options?: Record<string, unknown>;
  /** Where a plugin's warnings go (the request's Warning headers); absent for in-process writes. */
  warnings?: string[];
}

export interface MutatingPlugin {
  readonly name: string;
  handles(op: Operation): boolean;
  /** May change `obj` in place. `old` is the stored object on UPDATE and DELETE. */
  admit(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> | void;
}

export interface ValidatingPlugin {
  readonly name: string;
  handles(op: Operation): boolean;
  validate(
    a: AdmissionAttributes,
    obj: KubeObject | undefined,
    old: KubeObject | undefined,
  ): Promise<void> | void;
}

/**
 * NamespaceLifecycle (k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle): the protected namespaces may not
 * be deleted; nothing is created or changed in a namespace that does not exist (NotFound); nothing new is created
 * in one that is terminating (Forbidden, with a NamespaceTerminating cause).
 */
import { forbidden, KubeError, notFound } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, ValidatingPlugin } from '../types.js';

export interface NamespaceLookup {
  /** The namespace object, or undefined when it does not exist. */
  get(name: string): Promise<KubeObject | undefined>;
}

const qualified = (a: AdmissionAttributes) =>
  a.resource.group ? `${a.resource.resource}.${a.resource.group}` : a.resource.resource;

/** admission.NewForbidden: `<resource> "<name>" is forbidden: <why>` (no name: `<resource> is forbidden`). */
export function admissionForbidden(a: AdmissionAttributes, why: string): KubeError {
  const res = qualified(a);
  const subject = {
    kind: a.resource.resource,
    ...(a.resource.group ? { group: a.resource.group } : {}),
    ...(a.name ? { name: a.name } : {}),
  };
  return forbidden(
    a.name ? `${res} "${a.name}" is forbidden: ${why}` : `${res} is forbidden: ${why}`,
    subject,
  );
}

export class NamespaceLifecycle implements ValidatingPlugin {
  readonly name = 'NamespaceLifecycle';

  constructor(
    private readonly namespaces: NamespaceLookup,
    private readonly immortal: ReadonlySet<string>,
  ) {}

  handles(): boolean {
    return true;
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    const isNamespace =
      a.kind.group === '' && a.kind.kind === 'Namespace' && a.resource.resource === 'namespaces';
    if (a.operation === 'DELETE' && isNamespace && this.immortal.has(a.name))
      throw admissionForbidden(a, 'this namespace may not be deleted');
    if (!a.namespace || isNamespace || a.operation === 'DELETE') return;
    // Access reviews never reveal whether a namespace exists.
    if (a.resource.group === 'authorization.k8s.io') return;
    const ns = await this.namespaces.get(a.namespace);
    if (!ns) throw notFound('namespaces', a.namespace);
    const phase = (ns.status as { phase?: string } | undefined)?.phase;
    if (a.operation === 'CREATE' && phase === 'Terminating') {
      const err = admissionForbidden(
        a,
        `unable to create new content in namespace ${a.namespace} because it is being terminated`,
      );
      throw new KubeError(err.reason, err.message, err.subject, [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${a.namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ]);
    }
  }
}

/**
 * DefaultIngressClass (plugin/pkg/admission/network/defaultingressclass): an Ingress created with neither
 * `spec.ingressClassName` nor the `kubernetes.io/ingress.class` annotation gets the default IngressClass's name
 * (the one annotated `ingressclass.kubernetes.io/is-default-class: "true"`; of several, the newest, as 1.32 picks).
 * No default class: the Ingress is left classless.
 */
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin } from '../types.js';

const IS_DEFAULT = 'ingressclass.kubernetes.io/is-default-class';
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export class DefaultIngressClass implements MutatingPlugin {
  readonly name = 'DefaultIngressClass';

  constructor(private readonly classes: () => Promise<KubeObject[]>) {}

  handles(op: string): boolean {
    return op === 'CREATE';
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (a.resource.group !== 'networking.k8s.io' || a.resource.resource !== 'ingresses' || a.subresource)
      return;
    if (!obj) return;
    const spec = (obj.spec ??= {}) as { ingressClassName?: string };
    if (spec.ingressClassName !== undefined && spec.ingressClassName !== null) return;
    if (obj.metadata?.annotations?.[CLASS_ANNOTATION] !== undefined) return;
    const defaults = (await this.classes())
      .filter((c) => c.metadata?.annotations?.[IS_DEFAULT] === 'true')
      .sort(
        (x, y) =>
          (y.metadata?.creationTimestamp ?? '').localeCompare(x.metadata?.creationTimestamp ?? '') ||
          (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''),
      );
    if (defaults[0]?.metadata?.name) spec.ingressClassName = defaults[0].metadata.name;
  }
}

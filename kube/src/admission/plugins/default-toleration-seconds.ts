/**
 * DefaultTolerationSeconds (plugin/pkg/admission/defaulttolerationseconds): a new pod that does not already
 * tolerate the NoExecute `not-ready` or `unreachable` taint gets a toleration of it for 300 s, so the node
 * lifecycle controller evicts it five minutes after its node went away rather than at once.
 */
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin } from '../types.js';

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

const KEYS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

export class DefaultTolerationSeconds implements MutatingPlugin {
  readonly name = 'DefaultTolerationSeconds';

  constructor(private readonly seconds = 300) {}

  handles(op: string): boolean {
    return op === 'CREATE';
  }

  admit(a: AdmissionAttributes, obj: KubeObject | undefined): void {
    if (a.resource.group !== '' || a.resource.resource !== 'pods' || a.subresource) return;
    const spec = obj?.spec as { tolerations?: Toleration[] } | undefined;
    if (!spec) return;
    const tols = spec.tolerations ?? [];
    const covers = (key: string) =>
      tols.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
    const add = KEYS.filter((k) => !covers(k)).map((key) => ({
      key,
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: this.seconds,
    }));
    if (add.length) spec.tolerations = [...tols, ...add];
  }
}

/** The admission chain: mutating plugins in order, then validating plugins in order. */
import type { KubeObject } from '../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin, ValidatingPlugin } from './types.js';

export class Admission {
  private readonly mutating: MutatingPlugin[] = [];
  private readonly validating: ValidatingPlugin[] = [];

  /** Adds a plugin at the end of its phase (a plugin may be both). */
  use(p: MutatingPlugin | ValidatingPlugin | (MutatingPlugin & ValidatingPlugin)): this {
    if ('admit' in p) this.mutating.push(p);
    if ('validate' in p) this.validating.push(p);
    return this;
  }

  get plugins(): string[] {
    return [...new Set([...this.mutating, ...this.validating].map((p) => p.name))];
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined, old?: KubeObject): Promise<void> {
    for (const p of this.mutating) if (p.handles(a.operation)) await p.admit(a, obj, old);
  }

  async validate(a: AdmissionAttributes, obj: KubeObject | undefined, old?: KubeObject): Promise<void> {
    for (const p of this.validating) if (p.handles(a.operation)) await p.validate(a, obj, old);
  }
}

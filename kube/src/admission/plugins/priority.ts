/**
 * Priority (plugin/pkg/admission/priority): a new pod's priorityClassName resolves to spec.priority and
 * spec.preemptionPolicy (the globalDefault class, else priority 0, when it names none); an unknown class, or a
 * priority or policy the pod sets itself that disagrees with its class, is refused with kube-apiserver's words.
 * On PriorityClasses: only one may be globalDefault.
 */
import { forbidden } from '../../errors.js';
import type { KubeObject } from '../../registry/types.js';
import type { AdmissionAttributes, MutatingPlugin, ValidatingPlugin } from '../types.js';

export interface PriorityClassLookup {
  list(): Promise<KubeObject[]>;
}

interface PodSpec {
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: string;
}

/** admission.NewForbidden's name: the request's, else the object's name, else its generateName. */
function subjectName(a: AdmissionAttributes, obj: KubeObject | undefined): string {
  return a.name || obj?.metadata?.name || obj?.metadata?.generateName || 'Unknown';
}

export class PriorityAdmission implements MutatingPlugin, ValidatingPlugin {
  readonly name = 'Priority';

  constructor(private readonly classes: PriorityClassLookup) {}

  handles(op: string): boolean {
    return op === 'CREATE' || op === 'UPDATE';
  }

  async admit(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (
      a.operation !== 'CREATE' ||
      a.resource.group !== '' ||
      a.resource.resource !== 'pods' ||
      a.subresource
    )
      return;
    const spec = obj?.spec as PodSpec | undefined;
    if (!spec) return;
    const deny = (why: string) => {
      const name = subjectName(a, obj);
      return forbidden(`pods "${name}" is forbidden: ${why}`, { kind: 'pods', name });
    };
    const classes = await this.classes.list();
    let value = 0;
    let policy = 'PreemptLowerPriority';
    if (spec.priorityClassName) {
      const pc = classes.find((c) => c.metadata?.name === spec.priorityClassName);
      if (!pc) throw deny(`no PriorityClass with name ${spec.priorityClassName} was found`);
      value = (pc.value as number | undefined) ?? 0;
      policy = (pc.preemptionPolicy as string | undefined) ?? policy;
    } else {
      const def = classes.find((c) => c.globalDefault === true);
      if (def) {
        spec.priorityClassName = def.metadata?.name;
        value = (def.value as number | undefined) ?? 0;
        policy = (def.preemptionPolicy as string | undefined) ?? policy;
      }
    }
    if (spec.priority !== undefined && spec.priority !== value)
      throw deny(
        `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`,
      );
    if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== policy)
      throw deny(
        `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
      );
    spec.priority = value;
    spec.preemptionPolicy = policy;
  }

  async validate(a: AdmissionAttributes, obj: KubeObject | undefined): Promise<void> {
    if (a.resource.group !== 'scheduling.k8s.io' || a.resource.resource !== 'priorityclasses') return;
    if (obj?.globalDefault !== true) return;
    const other = (await this.classes.list()).find(
      (c) => c.globalDefault === true && c.metadata?.name !== obj.metadata?.name,
    );
    if (other) {
      const name = subjectName(a, obj);
      throw forbidden(
        `priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${other.metadata?.name} is already marked as default. Only one default can exist`,
        { kind: 'priorityclasses', group: 'scheduling.k8s.io', name },
      );
    }
  }
}

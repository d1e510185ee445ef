/**
 * pods/eviction (pkg/registry/core/pod/storage/eviction.go; `kubectl drain`): the pod is deleted unless the one
 * PodDisruptionBudget selecting it allows no disruption, which is a 429 TooManyRequests with a DisruptionBudget
 * cause. Pods that are not running (Pending, Succeeded, Failed) or already terminating ignore budgets. There is
 * no disruption controller here: the budget's status (healthy pods, disruptions allowed) is computed from the
 * pods at eviction time and written back, one disruption spent per eviction.
 */
import { badRequest, forbidden, internal, KubeError } from '../../errors.js';
import { fromStructured, matchesLabels, type StructuredSelector } from '../../selectors/labels.js';
import type { CollectionStore } from '../generic/collection.js';
import type { DeleteOptions, RequestContext } from '../generic/context.js';
import { rfc3339 } from '../generic/metadata.js';
import type { KubeObject } from '../types.js';

interface PdbSpec {
  selector?: StructuredSelector;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

const phaseOf = (p: KubeObject) => (p.status as { phase?: string } | undefined)?.phase ?? '';

function ready(p: KubeObject): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  const conds = (p.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions;
  return !!conds?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** intstr.GetScaledValueFromIntOrPercent, rounding up. */
function scaled(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m)
    throw badRequest(`invalid value for IntOrString: invalid value "${v}": must be an integer or percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** The budget's status from the pods it selects (the disruption controller's arithmetic, expected = selected). */
export function budgetStatus(pdb: KubeObject, pods: KubeObject[]) {
  const spec = (pdb.spec ?? {}) as PdbSpec;
  const selected = pods.filter((p) => matchesLabels(fromStructured(spec.selector), p.metadata?.labels ?? {}));
  const expectedPods = selected.length;
  const currentHealthy = selected.filter(ready).length;
  let desiredHealthy = 0;
  if (spec.maxUnavailable !== undefined)
    desiredHealthy = Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods));
  else if (spec.minAvailable !== undefined) desiredHealthy = scaled(spec.minAvailable, expectedPods);
  return {
    currentHealthy,
    desiredHealthy,
    expectedPods,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}

export async function evictPod(
  pods: CollectionStore,
  pdbs: CollectionStore | undefined,
  ctx: RequestContext,
  namespace: string,
  name: string,
  eviction: KubeObject,
): Promise<void> {
  if (eviction.metadata?.name && eviction.metadata.name !== name)
    throw badRequest('name in URL does not match name in Eviction object');
  const opts = (eviction.deleteOptions ?? {}) as DeleteOptions;
  const pod = await pods.get(namespace, name);
  const phase = phaseOf(pod);
  const ignoresBudget =
    phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
  if (!ignoresBudget && pdbs) {
    const labels = pod.metadata?.labels ?? {};
    const budgets = (await pdbs.list(namespace)).items.filter((b) => {
      const sel = (b.spec as PdbSpec | undefined)?.selector;
      // A budget with no (or an empty) selector selects nothing in policy/v1.
      return !!sel &&
        (Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions ?? []).length > 0)
        ? matchesLabels(fromStructured(sel), labels)
        : false;
    });
    if (budgets.length > 1)
      throw internal(
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    if (budgets.length === 1) await spend(pods, pdbs, ctx, namespace, budgets[0].metadata?.name ?? '', name);
  }
  await pods.delete(ctx, namespace, name, opts);
}

/** checkAndDecrement: refuse when no disruption is allowed, else spend one and record the pod as disrupted. */
async function spend(
  pods: CollectionStore,
  pdbs: CollectionStore,
  ctx: RequestContext,
  namespace: string,
  pdbName: string,
  podName: string,
): Promise<void> {
  const all = (await pods.list(namespace)).items;
  await pdbs.guaranteedUpdate(
    ctx,
    namespace,
    pdbName,
    (pdb) => {
      if (!pdb) throw new KubeError('NotFound', `poddisruptionbudgets.policy "${pdbName}" not found`);
      const st = budgetStatus(pdb, all);
      if (st.disruptionsAllowed < 0)
        throw forbidden(
          `poddisruptionbudget.policy "${pdbName}" is forbidden: pdb disruptions allowed is negative`,
        );
      if (st.disruptionsAllowed === 0) {
        throw new KubeError('TooManyRequests', VIOLATION, {}, [
          {
            reason: 'DisruptionBudget',
            message: `The disruption budget ${pdbName} needs ${st.desiredHealthy} healthy pods and has ${st.currentHealthy} currently`,
          },
        ]);
      }
      const prev = (pdb.status ?? {}) as { disruptedPods?: Record<string, string> };
      const left = st.disruptionsAllowed - 1;
      return {
        ...pdb,
        status: {
          ...st,
          disruptionsAllowed: left,
          observedGeneration: pdb.metadata?.generation ?? 1,
          disruptedPods: { ...(prev.disruptedPods ?? {}), [podName]: rfc3339(new Date()) },
          conditions: [
            {
              type: 'DisruptionAllowed',
              status: left > 0 ? 'True' : 'False',
              reason: left > 0 ? 'SufficientPods' : 'InsufficientPods',
              message: '',
              observedGeneration: pdb.metadata?.generation ?? 1,
              lastTransitionTime: rfc3339(new Date()),
            },
          ],
        },
      };
    },
    { subresource: 'status' },
  );
}

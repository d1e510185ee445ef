/**
 * Pods: PodSpec defaults and checks, status Pending at create, graceful deletion (terminationGracePeriodSeconds;
 * at once when the pod never reached a node or already finished), the field selectors kubelet and describe use,
 * and kube-apiserver's printPod columns (READY, STATUS with its reasons, RESTARTS "n (age ago)").
 */
import type { FieldError } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, at, col, since, str } from '../printing.js';
import type { KubeObject, Strategy } from '../types.js';
import { defaultPodSpec, validatePodSpec } from './podspec.js';
import { validateEphemeralUpdate, withEphemeralContainers } from './ephemeral.js';

interface ContainerState {
  waiting?: { reason?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}
interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}
interface PodStatus {
  phase?: string;
  reason?: string;
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  nominatedNodeName?: string;
  conditions?: Array<{ type: string; status: string; reason?: string }>;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
}

const statusOf = (p: KubeObject) => (p.status ?? {}) as PodStatus;

/** The pod's QoS class (pkg/apis/core/helper/qos): Guaranteed, Burstable or BestEffort. */
function qosClass(pod: KubeObject): string {
  const containers = [
    ...((at(pod, 'spec.containers') as KubeObject[] | undefined) ?? []),
    ...((at(pod, 'spec.initContainers') as KubeObject[] | undefined) ?? []),
  ];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = (at(c, 'resources.requests') ?? {}) as Record<string, string>;
    const lim = (at(c, 'resources.limits') ?? {}) as Record<string, string>;
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (!lim[r] || (req[r] !== undefined && req[r] !== lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function printStatus(pod: KubeObject): { ready: string; reason: string; restarts: string } {
  const st = statusOf(pod);
  const total = ((at(pod, 'spec.containers') as unknown[] | undefined) ?? []).length;
  const initSpecs = ((at(pod, 'spec.initContainers') as unknown[] | undefined) ?? []).length;
  let reason = st.reason || st.phase || '';
  if (st.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    reason = 'SchedulingGated';
  let restarts = 0;
  let lastRestart = '';
  const noteRestart = (c: ContainerStatus) => {
    restarts += c.restartCount ?? 0;
    const fin = c.lastState?.terminated?.finishedAt;
    if (fin && (!lastRestart || Date.parse(fin) > Date.parse(lastRestart))) lastRestart = fin;
  };
  let initializing = false;
  for (const [i, c] of (st.initContainerStatuses ?? []).entries()) {
    noteRestart(c);
    const t = c.state?.terminated;
    if (t && (t.exitCode ?? 0) === 0) continue;
    if (t)
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode ?? 0}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing')
      reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${initSpecs}`;
    initializing = true;
    break;
  }
  let ready = 0;
  const initialized = st.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = 0;
    lastRestart = '';
    let hasRunning = false;
    const cs = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      noteRestart(c);
      const s = c.state ?? {};
      if (s.waiting?.reason) reason = s.waiting.reason;
      else if (s.terminated?.reason) reason = s.terminated.reason;
      else if (s.terminated)
        reason = s.terminated.signal
          ? `Signal:${s.terminated.signal}`
          : `ExitCode:${s.terminated.exitCode ?? 0}`;
      else if (c.ready && s.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning)
      reason = st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  if (pod.metadata?.deletionTimestamp && st.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && st.phase !== 'Succeeded' && st.phase !== 'Failed')
    reason = 'Terminating';
  const restartsText =
    restarts !== 0 && lastRestart ? `${restarts} (${since(lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, reason, restarts: restartsText };
}

export const podStrategy: Strategy = {
  subresourceUpdates: {
    ephemeralcontainers: { prepare: withEphemeralContainers, validate: validateEphemeralUpdate },
  },
  defaults(obj) {
    defaultPodSpec(obj.spec as Record<string, unknown> | undefined);
    // The DefaultTolerationSeconds admission plugin's tolerations, which every kube-apiserver adds.
    const spec = obj.spec as { tolerations?: Array<Record<string, unknown>> } | undefined;
    if (spec) {
      const tol = spec.tolerations ?? [];
      for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'])
        if (!tol.some((t) => t.key === key || (t.operator === 'Exists' && !t.key)))
          tol.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
      spec.tolerations = tol;
    }
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
  },
  validate(obj) {
    return validatePodSpec(obj.spec as Record<string, unknown> | undefined, 'spec');
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    // Pod updates may change only images, activeDeadlineSeconds, tolerations (additions) and scheduling gates.
    const strip = (p: KubeObject) => {
      const s = JSON.parse(JSON.stringify(p.spec ?? {})) as Record<string, unknown>;
      for (const c of [
        ...((s.containers as KubeObject[]) ?? []),
        ...((s.initContainers as KubeObject[]) ?? []),
      ])
        delete c.image;
      delete s.activeDeadlineSeconds;
      delete s.tolerations;
      delete s.schedulingGates;
      return JSON.stringify(s);
    };
    if (strip(obj) !== strip(old))
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec',
        detail:
          'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      });
    return errs;
  },
  gracePeriod(pod, requested) {
    const st = statusOf(pod);
    // Never scheduled, or already finished: nothing runs that needs time to stop.
    if (!at(pod, 'spec.nodeName') || st.phase === 'Succeeded' || st.phase === 'Failed') return 0;
    if (requested !== undefined) return requested;
    return (at(pod, 'spec.terminationGracePeriodSeconds') as number | undefined) ?? 30;
  },
  fieldSelectors: {
    'spec.nodeName': (p) => str(at(p, 'spec.nodeName')),
    'spec.restartPolicy': (p) => str(at(p, 'spec.restartPolicy')),
    'spec.schedulerName': (p) => str(at(p, 'spec.schedulerName')),
    'spec.serviceAccountName': (p) => str(at(p, 'spec.serviceAccountName')),
    'spec.hostNetwork': (p) => String(at(p, 'spec.hostNetwork') === true),
    'status.phase': (p) => str(statusOf(p).phase),
    'status.podIP': (p) => str(statusOf(p).podIP),
    'status.podIPs': (p) => str(statusOf(p).podIPs?.[0]?.ip ?? statusOf(p).podIP),
    'status.nominatedNodeName': (p) => str(statusOf(p).nominatedNodeName),
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 0, 'The aggregate status of the containers in this pod.'),
      col(
        'Restarts',
        'string',
        0,
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      AGE_COLUMN,
      col(
        'IP',
        'string',
        1,
        'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      ),
      col('Node', 'string', 1, 'NodeName indicates in which node this pod is scheduled.'),
      col(
        'Nominated Node',
        'string',
        1,
        'nominatedNodeName is set only when this pod preempts other pods on the node.',
      ),
      col(
        'Readiness Gates',
        'string',
        1,
        'If specified, all readiness gates will be evaluated for pod readiness.',
      ),
    ],
    cells(p) {
      const st = statusOf(p);
      const { ready, reason, restarts } = printStatus(p);
      const gates = (at(p, 'spec.readinessGates') as Array<{ conditionType: string }> | undefined) ?? [];
      const gatesText = gates.length
        ? `${gates.filter((g) => st.conditions?.find((c) => c.type === g.conditionType)?.status === 'True').length}/${gates.length}`
        : '<none>';
      return [
        p.metadata?.name,
        ready,
        reason,
        restarts,
        age(p),
        st.podIPs?.[0]?.ip || '<none>',
        str(at(p, 'spec.nodeName')) || '<none>',
        st.nominatedNodeName || '<none>',
        gatesText,
      ];
    },
  },
};

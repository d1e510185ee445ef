/**
 * securityContext and resources as engine HostConfig, the way the kubelet and cri-dockerd translate them; the QoS
 * class as Kubernetes computes it (pkg/apis/core/v1/helper/qos).
 */
import type { HostConfig } from '@berth/common/api/containers';
import { configError } from './errors.js';
import { milliCpu, parseQuantity } from '@berth/common/quantity';
import type { Container, Pod } from './types.js';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const QOS_RESOURCES = ['cpu', 'memory'];

export function qosClass(pod: Pod): QosClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of all) {
    for (const [k, v] of Object.entries(c.resources?.requests ?? {})) {
      if (!QOS_RESOURCES.includes(k) || parseQuantity(v) === 0) continue;
      requests.set(k, (requests.get(k) ?? 0) + parseQuantity(v));
    }
    const have = new Set<string>();
    for (const [k, v] of Object.entries(c.resources?.limits ?? {})) {
      if (!QOS_RESOURCES.includes(k) || parseQuantity(v) === 0) continue;
      have.add(k);
      limits.set(k, (limits.get(k) ?? 0) + parseQuantity(v));
    }
    if (!QOS_RESOURCES.every((r) => have.has(r))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [k, v] of requests) if (limits.get(k) !== v) return 'Burstable';
    return 'Guaranteed';
  }
  return 'Burstable';
}

/** The kubelet's scores (pkg/kubelet/qos/policy.go): the sandbox outlives its containers; guaranteed go last. */
export const SANDBOX_OOM_SCORE_ADJ = -998;
export const GUARANTEED_OOM_SCORE_ADJ = -997;

/** CPU shares, quota and memory from the container's resources (requests default to limits, as API defaulting). */
export function resourceConfig(c: Container, qos: QosClass, nodeMemory?: number): Partial<HostConfig> {
  const lim = c.resources?.limits ?? {};
  const req = { ...lim, ...(c.resources?.requests ?? {}) };
  const hc: Partial<HostConfig> = {};
  const cpuReq = req.cpu !== undefined ? milliCpu(req.cpu) : 0;
  hc.CpuShares = Math.max(2, Math.floor((cpuReq * 1024) / 1000));
  if (lim.cpu !== undefined) {
    hc.CpuPeriod = 100_000;
    hc.CpuQuota = Math.max(1000, Math.floor((milliCpu(lim.cpu) * 100_000) / 1000));
  }
  if (lim.memory !== undefined) {
    hc.Memory = Math.floor(parseQuantity(lim.memory));
    hc.MemorySwap = hc.Memory;
  }
  // The kubelet's OOM score policy: best-effort first, burstable by their memory request, guaranteed last but the
  // sandbox. berthd raises a score below what it can give (no CAP_SYS_RESOURCE) to its own, as containerd does.
  if (qos === 'Guaranteed') hc.OomScoreAdj = GUARANTEED_OOM_SCORE_ADJ;
  else if (qos === 'BestEffort') hc.OomScoreAdj = 1000;
  else {
    const memReq = req.memory !== undefined ? parseQuantity(req.memory) : 0;
    const adj = nodeMemory ? 1000 - Math.floor((1000 * memReq) / nodeMemory) : 999;
    hc.OomScoreAdj = Math.min(999, Math.max(2, adj));
  }
  return hc;
}

/** Docker's user string for the container (`uid[:gid]`), or undefined for the image's user. */
export function userFor(pod: Pod, c: Container, imageUser: string): string | undefined {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? psc.runAsUser;
  const gid = sc.runAsGroup ?? psc.runAsGroup;
  if (uid === undefined && gid === undefined) return undefined;
  const u = uid !== undefined ? String(uid) : imageUser.split(':')[0] || '0';
  return gid !== undefined ? `${u}:${gid}` : u;
}

/** runAsNonRoot, checked against runAsUser or the image's user, with the kubelet's messages. */
export function verifyNonRoot(pod: Pod, c: Container, imageUser: string): void {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) return;
  const where = `(pod: "${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})", container: ${c.name})`;
  const uid = sc.runAsUser ?? psc.runAsUser;
  if (uid !== undefined) {
    if (uid === 0) throw configError(`container's runAsUser breaks non-root policy ${where}`);
    return;
  }
  const user = imageUser.split(':')[0] ?? '';
  if (user === '' || user === 'root' || user === '0')
    throw configError(`container has runAsNonRoot and image will run as root ${where}`);
  if (!/^\d+$/.test(user))
    throw configError(
      `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${where}`,
    );
}

export function securityConfig(pod: Pod, c: Container): Partial<HostConfig> {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const hc: Partial<HostConfig> = {};
  if (sc.privileged) hc.Privileged = true;
  if (sc.capabilities?.add?.length) hc.CapAdd = sc.capabilities.add.map(capName);
  if (sc.capabilities?.drop?.length) hc.CapDrop = sc.capabilities.drop.map(capName);
  if (sc.readOnlyRootFilesystem) hc.ReadonlyRootfs = true;
  const groups = [...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])].map(
    String,
  );
  if (groups.length) hc.GroupAdd = [...new Set(groups)];
  const opts: string[] = [];
  const seccomp = sc.seccompProfile ?? psc.seccompProfile;
  // Without a profile the kubelet runs containers Unconfined (SeccompDefault is off by default).
  const type = seccomp?.type ?? 'Unconfined';
  if (type === 'RuntimeDefault') opts.push('seccomp=builtin');
  else if (type === 'Unconfined') opts.push('seccomp=unconfined');
  else
    throw configError(
      `seccomp profile type ${type} is not supported by berth-kube (use RuntimeDefault or Unconfined)`,
    );
  if (sc.allowPrivilegeEscalation === false) opts.push('no-new-privileges');
  hc.SecurityOpt = opts;
  if (sc.procMount === 'Unmasked') {
    hc.MaskedPaths = [];
    hc.ReadonlyPaths = [];
  }
  return hc;
}

/** Kubernetes writes capabilities without the CAP_ prefix; Docker takes either. */
const capName = (c: string): string => (c === 'ALL' || c.startsWith('CAP_') ? c : `CAP_${c}`);

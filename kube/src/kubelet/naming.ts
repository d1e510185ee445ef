/**
 * Container names and labels exactly as cri-dockerd writes them, so `docker ps` shows what the cluster runs and
 * the kubelet can find (and adopt) its pods from labels alone:
 *   sandbox    k8s_POD_<pod>_<ns>_<uid>_<attempt>
 *   container  k8s_<container>_<pod>_<ns>_<uid>_<attempt>
 * Kubernetes annotations travel as labels prefixed `annotation.` (Docker has no annotations).
 */
import type { Container, Pod } from './types.js';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const LABEL_TYPE = 'io.kubernetes.docker.type';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';
export const LABEL_LOG_PATH = 'io.kubernetes.container.logpath';
export const TYPE_SANDBOX = 'podsandbox';
export const TYPE_CONTAINER = 'container';
export const SANDBOX_CONTAINER_NAME = 'POD';
export const ANNOTATION_PREFIX = 'annotation.';

/** The kubelet's container annotations (pkg/kubelet/kuberuntime/labels.go). */
export const ANN_HASH = 'io.kubernetes.container.hash';
export const ANN_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const ANN_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const ANN_TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const ANN_GRACE_PERIOD = 'io.kubernetes.pod.terminationGracePeriod';
export const ANN_PRESTOP = 'io.kubernetes.container.preStopHandler';
export const ANN_PORTS = 'io.kubernetes.container.ports';
/** Berth's own: which list the container came from, so status keeps init and app containers apart. */
export const ANN_INIT = 'io.berth.container.init';

const ann = (k: string): string => `${ANNOTATION_PREFIX}${k}`;

export function sandboxName(pod: Pod, attempt: number): string {
  const m = pod.metadata!;
  return ['k8s', SANDBOX_CONTAINER_NAME, m.name, m.namespace ?? 'default', m.uid, String(attempt)].join('_');
}

export function containerName(pod: Pod, container: string, attempt: number): string {
  const m = pod.metadata!;
  return ['k8s', container, m.name, m.namespace ?? 'default', m.uid, String(attempt)].join('_');
}

export interface ParsedName {
  container: string;
  pod: string;
  namespace: string;
  uid: string;
  attempt: number;
}

/** Parses either form (Docker's leading slash and cri-dockerd's optional random suffix tolerated). */
export function parseName(name: string): ParsedName | undefined {
  const parts = name.replace(/^\//, '').split('_');
  if ((parts.length !== 6 && parts.length !== 7) || parts[0] !== 'k8s') return undefined;
  const attempt = Number(parts[5]);
  if (!Number.isInteger(attempt) || attempt < 0) return undefined;
  return { container: parts[1], pod: parts[2], namespace: parts[3], uid: parts[4], attempt };
}

function podIdentity(pod: Pod): Record<string, string> {
  const m = pod.metadata!;
  return {
    [LABEL_POD_NAME]: m.name!,
    [LABEL_POD_NAMESPACE]: m.namespace ?? 'default',
    [LABEL_POD_UID]: m.uid!,
  };
}

/** Sandbox labels: the pod's labels and identity; its annotations as `annotation.*`; the type and `POD`. */
export function sandboxLabels(pod: Pod): Record<string, string> {
  const out: Record<string, string> = { ...(pod.metadata?.labels ?? {}), ...podIdentity(pod) };
  for (const [k, v] of Object.entries(pod.metadata?.annotations ?? {})) out[ann(k)] = v;
  out[LABEL_TYPE] = TYPE_SANDBOX;
  out[LABEL_CONTAINER_NAME] = SANDBOX_CONTAINER_NAME;
  return out;
}

/** FNV-1a 32 of the container's spec: a changed spec (a new image) means a new container, as the kubelet's hash. */
export function containerHash(c: Container): string {
  let h = 0x811c9dc5;
  const s = JSON.stringify(c);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

export interface ContainerLabelInput {
  pod: Pod;
  container: Container;
  init: boolean;
  restartCount: number;
  sandboxId: string;
  logPath: string;
}

export function containerLabels(i: ContainerLabelInput): Record<string, string> {
  const c = i.container;
  const out: Record<string, string> = { ...podIdentity(i.pod), [LABEL_CONTAINER_NAME]: c.name };
  const annotations: Record<string, string> = {
    [ANN_HASH]: containerHash(c),
    [ANN_RESTART_COUNT]: String(i.restartCount),
    [ANN_TERMINATION_MESSAGE_PATH]: c.terminationMessagePath ?? '/dev/termination-log',
    [ANN_TERMINATION_MESSAGE_POLICY]: c.terminationMessagePolicy ?? 'File',
  };
  const grace = i.pod.spec?.terminationGracePeriodSeconds;
  if (grace !== undefined) annotations[ANN_GRACE_PERIOD] = String(grace);
  if (c.lifecycle?.preStop) annotations[ANN_PRESTOP] = JSON.stringify(c.lifecycle.preStop);
  if (c.ports?.length) annotations[ANN_PORTS] = JSON.stringify(c.ports);
  if (i.init) annotations[ANN_INIT] = 'true';
  for (const [k, v] of Object.entries(annotations)) out[ann(k)] = v;
  out[LABEL_TYPE] = TYPE_CONTAINER;
  out[LABEL_LOG_PATH] = i.logPath;
  out[LABEL_SANDBOX_ID] = i.sandboxId;
  return out;
}

/** A Kubernetes annotation carried on a container's labels. */
export function annotation(
  labels: Record<string, string> | null | undefined,
  key: string,
): string | undefined {
  return labels?.[ann(key)];
}

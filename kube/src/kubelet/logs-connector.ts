/**
 * pods/log, served in-process as kube-apiserver + kubelet together: PodLogOptions parsed and validated as
 * kube-apiserver does (422 `PodLogOptions "x" is invalid`), the container chosen and checked with its words
 * (`a container name must be specified for pod x, choose one of: [a b]`), the instance picked from the pod's status
 * as the kubelet's validateContainerLogStatus does (its errors relayed as 400), then the engine's log stream as
 * text/plain: follow, previous, timestamps, sinceSeconds/sinceTime, tailLines, limitBytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, invalid, KubeError, notFound, type FieldError } from '../errors.js';
import type { Connector } from '../apiserver/handlers/dispatch.js';
import type { LogOptions, PodRuntime } from './provider.js';
import type { ContainerStatus, Pod } from './types.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function bool(q: URLSearchParams, k: string): boolean {
  const v = q.get(k);
  if (v === null || v === '') return false;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(`strconv.ParseBool: parsing "${v}": invalid syntax`);
}

function int(q: URLSearchParams, k: string): number | undefined {
  const v = q.get(k);
  if (v === null || v === '') return undefined;
  if (!/^[-+]?\d+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}

export interface ParsedLogOptions extends Omit<LogOptions, 'container'> {
  container?: string;
}

export function parseLogOptions(q: URLSearchParams, podName: string): ParsedLogOptions {
  const sinceTimeText = q.get('sinceTime');
  let sinceTime: string | undefined;
  if (sinceTimeText) {
    if (Number.isNaN(Date.parse(sinceTimeText)) || !/^\d{4}-\d\d-\d\dT/.test(sinceTimeText))
      throw badRequest(
        `parsing time "${sinceTimeText}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTimeText}" as "2006"`,
      );
    sinceTime = sinceTimeText;
  }
  const o: ParsedLogOptions = {
    follow: bool(q, 'follow'),
    previous: bool(q, 'previous'),
    timestamps: bool(q, 'timestamps'),
  };
  const container = q.get('container');
  if (container) o.container = container;
  const sinceSeconds = int(q, 'sinceSeconds');
  const tailLines = int(q, 'tailLines');
  const limitBytes = int(q, 'limitBytes');
  const errs: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'tailLines',
      badValue: tailLines,
      detail: 'must be greater than or equal to 0',
    });
  if (limitBytes !== undefined && limitBytes < 1)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'limitBytes',
      badValue: limitBytes,
      detail: 'must be greater than 0',
    });
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    errs.push({
      type: 'FieldValueForbidden',
      field: '',
      detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified',
    });
  else if (sinceSeconds !== undefined && sinceSeconds < 1)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'sinceSeconds',
      badValue: sinceSeconds,
      detail: 'must be greater than 0',
    });
  if (errs.length) throw invalid('PodLogOptions', podName, errs);
  if (sinceSeconds !== undefined) o.sinceSeconds = sinceSeconds;
  if (sinceTime !== undefined) o.sinceTime = sinceTime;
  if (tailLines !== undefined) o.tailLines = tailLines;
  if (limitBytes !== undefined) o.limitBytes = limitBytes;
  return o;
}

/** kube-apiserver's validateContainer: the container named, or the only one. */
export function chooseContainer(pod: Pod, container: string | undefined): string {
  const name = pod.metadata?.name ?? '';
  const spec = pod.spec ?? { containers: [] };
  const all = [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])].map(
    (c) => c.name,
  );
  if (!container) {
    if (spec.containers.length === 1) return spec.containers[0].name;
    if (spec.containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/**
 * The kubelet's validateContainerLogStatus: which instance has the logs (`previous` here means the instance before
 * the newest one the runtime keeps), or its error.
 */
export function logInstance(pod: Pod, container: string, previous: boolean): { previous: boolean } {
  const podName = pod.metadata?.name ?? '';
  const statuses: ContainerStatus[] = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  const s = statuses.find((x) => x.name === container);
  const q = `container "${container}" in pod "${podName}"`;
  if (!s) throw badRequest(`${q} is not available`);
  const current = s.containerID ?? '';
  const last = s.lastState?.terminated;
  const pick = (id: string | undefined) => ({ previous: !!id && id !== current });
  if (previous) {
    if (!last?.containerID)
      throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return pick(last.containerID);
  }
  const st = s.state ?? {};
  if (st.running) return { previous: false };
  if (st.terminated) {
    if (st.terminated.containerID) return pick(st.terminated.containerID);
    if (last?.containerID) return pick(last.containerID);
    throw badRequest(`${q} is terminated`);
  }
  if (last) {
    if (!last.containerID) throw badRequest(`${q} is terminated`);
    return pick(last.containerID);
  }
  if (st.waiting) {
    const reason = st.waiting.reason ?? '';
    if (reason === 'ErrImagePull') throw badRequest(`${q} is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff')
      throw badRequest(`${q} is waiting to start: trying and failing to pull image`);
    throw badRequest(`${q} is waiting to start: ${reason}`);
  }
  throw badRequest(`${q} is waiting to start - no logs yet`);
}

export function logsConnector(runtime: PodRuntime, nodeName: string): Connector {
  return async (r, req: IncomingMessage, res: ServerResponse) => {
    if (r.info.verb !== 'get')
      throw new KubeError(
        'MethodNotAllowed',
        `${r.info.verb} is not supported on resources of kind "pods/log"`,
      );
    const name = r.info.name;
    const pod = (await r.store.get(r.namespace, name)) as Pod;
    const o = parseLogOptions(r.url.searchParams, name);
    const container = chooseContainer(pod, o.container);
    const node = pod.spec?.nodeName;
    if (!node) {
      // kube-apiserver has no kubelet to ask: an empty log.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end();
      return;
    }
    if (node !== nodeName) throw notFound('nodes', node);
    const pick = logInstance(pod, container, o.previous === true);
    const abort = new AbortController();
    let stream;
    try {
      stream = await runtime.logs(pod, { ...o, container, previous: pick.previous }, abort.signal);
    } catch (err) {
      throw err instanceof KubeError ? err : badRequest((err as Error).message);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const done = () => {
      abort.abort();
      stream.destroy();
    };
    req.on('close', done);
    res.on('close', done);
    stream.on('error', () => res.end());
    stream.pipe(res);
  };
}

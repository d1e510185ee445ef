/**
 * The one typed client of Kubernetes APIs the dashboard uses, beside EngineClient. It knows paths, verbs and
 * the API server's wire forms (lists, watch events, Status errors, the exec channel protocol); the transport
 * carries bytes and the host adds credentials. Errors are thrown as KubeError with the server's message verbatim.
 */
import {
  DASHBOARD_FIELD_MANAGER,
  type ClusterContexts,
  type KubeList,
  type KubeObject,
  type KubeStatus,
  type WatchEvent,
} from '@berth/common';
import type { ClusterTransport } from './cluster-transport.js';
import { NdjsonDecoder } from './streams.js';
import type { RawResponse, StreamHandle } from './transport.js';

export interface ResourceType {
  group: string;
  version: string;
  /** plural, lower case: `pods`, `deployments` */
  resource: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCES = {
  pods: { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
  services: { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  configmaps: { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  secrets: { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  events: { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true },
  nodes: { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false },
  namespaces: { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  deployments: {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    kind: 'Deployment',
    namespaced: true,
  },
  replicasets: {
    group: 'apps',
    version: 'v1',
    resource: 'replicasets',
    kind: 'ReplicaSet',
    namespaced: true,
  },
  statefulsets: {
    group: 'apps',
    version: 'v1',
    resource: 'statefulsets',
    kind: 'StatefulSet',
    namespaced: true,
  },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true },
  ingresses: {
    group: 'networking.k8s.io',
    version: 'v1',
    resource: 'ingresses',
    kind: 'Ingress',
    namespaced: true,
  },
} satisfies Record<string, ResourceType>;

export type ResourceName = keyof typeof RESOURCES;

/** `namespace` undefined: every namespace (or a cluster-scoped type). */
export function resourcePath(t: ResourceType, namespace?: string, name?: string, sub?: string): string {
  const root = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return `${root}${ns}/${t.resource}${n}${name && sub ? `/${sub}` : ''}`;
}

export function query(q: Record<string, string | number | boolean | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** An API server refusal: its Status kept whole (reason, causes), the message verbatim. */
export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
    readonly status?: KubeStatus,
  ) {
    super(message);
  }
}

const dec = new TextDecoder();

export function kubeErrorFrom(res: RawResponse): KubeError {
  const text = dec.decode(res.body).trim();
  try {
    const s = JSON.parse(text) as KubeStatus;
    if (s.kind === 'Status' && typeof s.message === 'string')
      return new KubeError(s.message, s.code ?? res.status, s.reason, s);
  } catch {
    /* not a Status */
  }
  return new KubeError(text || `the API server answered ${res.status}`, res.status);
}

export interface WatchHandlers<T extends KubeObject> {
  /** The server accepted the watch (events may be a while). */
  onOpen?(): void;
  onEvent(e: WatchEvent<T>): void;
  /** The stream ended: normally (timeout, server restart) or with an error; the caller decides to resume. */
  onEnd(err?: Error): void;
}

export interface LogOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tailLines?: number;
  timestamps?: boolean;
}

/** An exec session over the v5 channel protocol: 0 stdin, 1 stdout, 2 stderr, 3 error Status, 4 resize. */
export interface ExecSession {
  write(data: string | Uint8Array): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

export interface ExecHandlers {
  onOutput(data: Uint8Array, stream: 'stdout' | 'stderr'): void;
  /** Channel 3's Status: Success, or why the command failed (NonZeroExitCode with its ExitCode cause). */
  onStatus?(s: KubeStatus): void;
  onEnd(err?: Error): void;
}

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export class ClusterClient {
  constructor(readonly transport: ClusterTransport) {}

  contexts(): Promise<ClusterContexts> {
    return this.transport.contexts();
  }

  async raw(
    context: string,
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<RawResponse> {
    const res = await this.transport.request({
      context,
      method,
      path,
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    if (res.status >= 400) throw kubeErrorFrom(res);
    return res;
  }

  async json<T>(
    context: string,
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<T> {
    const res = await this.raw(context, method, path, body, contentType);
    return JSON.parse(dec.decode(res.body)) as T;
  }

  version(context: string): Promise<{ major: string; minor: string; gitVersion: string }> {
    return this.json(context, 'GET', '/version');
  }

  list<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace?: string,
    q: { labelSelector?: string; fieldSelector?: string; limit?: number } = {},
  ): Promise<KubeList<T>> {
    return this.json(context, 'GET', resourcePath(t, namespace) + query(q));
  }

  get<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.json(context, 'GET', resourcePath(t, namespace, name));
  }

  /** A watch from `resourceVersion`; events as the server sends them, one per line. */
  watch<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    resourceVersion: string,
    h: WatchHandlers<T>,
    q: { labelSelector?: string; fieldSelector?: string } = {},
  ): StreamHandle {
    const path =
      resourcePath(t, namespace) +
      query({ ...q, watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1800 });
    const decoder = new NdjsonDecoder<WatchEvent<T>>();
    let status = 0;
    const errBody: Uint8Array[] = [];
    return this.transport.stream(
      { context, method: 'GET', path, headers: { Accept: 'application/json' } },
      {
        onHead: (s) => {
          status = s;
          if (s === 200) h.onOpen?.();
        },
        onData: (chunk) => {
          if (status >= 400) return void errBody.push(chunk);
          for (const e of decoder.push(chunk)) h.onEvent(e);
        },
        onEnd: (err) => {
          if (!err && status >= 400) {
            const body = new Uint8Array(errBody.reduce((n, c) => n + c.length, 0));
            let o = 0;
            for (const c of errBody) body.set(c, (o += c.length) - c.length);
            return h.onEnd(kubeErrorFrom({ status, headers: {}, body }));
          }
          h.onEnd(err);
        },
      },
    );
  }

  /** Server-side apply under the dashboard's field manager; `force` takes fields other managers own. */
  apply<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    manifest: string,
    force = false,
  ): Promise<T> {
    const path =
      resourcePath(t, namespace, name) +
      query({ fieldManager: DASHBOARD_FIELD_MANAGER, force: force || undefined, fieldValidation: 'Strict' });
    return this.json(context, 'PATCH', path, manifest, 'application/apply-patch+yaml');
  }

  patch<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    type: 'merge' | 'strategic' | 'json' = 'merge',
    sub?: string,
  ): Promise<T> {
    const ct = {
      merge: 'application/merge-patch+json',
      strategic: 'application/strategic-merge-patch+json',
      json: 'application/json-patch+json',
    }[type];
    const path = resourcePath(t, namespace, name, sub) + query({ fieldManager: DASHBOARD_FIELD_MANAGER });
    return this.json(context, 'PATCH', path, JSON.stringify(body), ct);
  }

  create<T extends KubeObject>(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    obj: KubeObject,
  ): Promise<T> {
    const path = resourcePath(t, namespace) + query({ fieldManager: DASHBOARD_FIELD_MANAGER });
    return this.json(context, 'POST', path, JSON.stringify(obj));
  }

  delete(
    context: string,
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    propagationPolicy: 'Foreground' | 'Background' | 'Orphan' = 'Background',
  ): Promise<KubeObject> {
    return this.json(
      context,
      'DELETE',
      resourcePath(t, namespace, name),
      JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy }),
    );
  }

  /** `kubectl scale`: a merge patch of the Scale subresource. */
  scale(
    context: string,
    t: ResourceType,
    namespace: string,
    name: string,
    replicas: number,
  ): Promise<KubeObject> {
    return this.patch(context, t, namespace, name, { spec: { replicas } }, 'merge', 'scale');
  }

  /** `kubectl rollout restart`: the restartedAt annotation on the pod template, as kubectl sets it. */
  restart(
    context: string,
    t: ResourceType,
    namespace: string,
    name: string,
    now = new Date(),
  ): Promise<KubeObject> {
    const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return this.patch(
      context,
      t,
      namespace,
      name,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } },
      'strategic',
    );
  }

  /** Pod logs; with `follow` they stream until closed. Text arrives as it comes. */
  logs(
    context: string,
    namespace: string,
    pod: string,
    o: LogOptions,
    h: { onText(text: string): void; onEnd(err?: Error): void },
  ): StreamHandle {
    const path =
      resourcePath(RESOURCES.pods, namespace, pod, 'log') +
      query({
        container: o.container,
        follow: o.follow || undefined,
        previous: o.previous || undefined,
        tailLines: o.tailLines,
        timestamps: o.timestamps || undefined,
      });
    const td = new TextDecoder();
    let status = 0;
    let errText = '';
    return this.transport.stream(
      { context, method: 'GET', path },
      {
        onHead: (s) => (status = s),
        onData: (chunk) => {
          const text = td.decode(chunk, { stream: true });
          if (status >= 400) errText += text;
          else h.onText(text);
        },
        onEnd: (err) => {
          if (!err && status >= 400)
            return h.onEnd(kubeErrorFrom({ status, headers: {}, body: new TextEncoder().encode(errText) }));
          h.onEnd(err);
        },
      },
    );
  }

  exec(
    context: string,
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    tty: boolean,
    h: ExecHandlers,
  ): ExecSession {
    const q = new URLSearchParams({
      container,
      stdin: 'true',
      stdout: 'true',
      stderr: String(!tty),
      tty: String(tty),
    });
    for (const c of command) q.append('command', c);
    const path = `${resourcePath(RESOURCES.pods, namespace, pod, 'exec')}?${q.toString()}`;
    let status = 0;
    let errText = '';
    const td = new TextDecoder();
    const stream = this.transport.stream(
      { context, method: 'GET', path, subprotocols: EXEC_PROTOCOLS },
      {
        onHead: (s) => (status = s),
        onData: (msg) => {
          if (status !== 101) return void (errText += td.decode(msg, { stream: true }));
          if (msg.length === 0) return;
          const ch = msg[0];
          const data = msg.subarray(1);
          if (ch === 1) h.onOutput(data, 'stdout');
          else if (ch === 2) h.onOutput(data, 'stderr');
          else if (ch === 3) {
            try {
              h.onStatus?.(JSON.parse(td.decode(data)) as KubeStatus);
            } catch {
              /* a partial status is not worth more than the end */
            }
          }
        },
        onEnd: (err) => {
          if (!err && status !== 101 && status !== 0)
            return h.onEnd(kubeErrorFrom({ status, headers: {}, body: new TextEncoder().encode(errText) }));
          h.onEnd(err);
        },
      },
    );
    const frame = (ch: number, data: Uint8Array) => {
      const m = new Uint8Array(data.length + 1);
      m[0] = ch;
      m.set(data, 1);
      stream.write(m);
    };
    const enc = new TextEncoder();
    return {
      write: (d) => frame(0, typeof d === 'string' ? enc.encode(d) : d),
      resize: (cols, rows) => frame(4, enc.encode(JSON.stringify({ Width: cols, Height: rows }))),
      close: () => stream.close(),
    };
  }
}

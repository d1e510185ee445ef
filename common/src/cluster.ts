/**
 * The seam between the renderer's ClusterClient and the host side that holds the kubeconfig. The renderer
 * names a context and a Kubernetes API path; the host adds the credentials (client certificates, tokens,
 * exec plugins), so they never reach the renderer.
 */

/** One kubeconfig context, as the renderer may see it (no credentials). */
export interface ClusterContext {
  name: string;
  cluster: string;
  user: string;
  /** The API server URL. */
  server: string;
  /** The context's default namespace (kubeconfig `namespace`, else `default`). */
  namespace: string;
  /** How the host authenticates: shown to explain failures, never the secret itself. */
  auth: 'client-certificate' | 'token' | 'exec' | 'basic' | 'none';
}

export interface ClusterContexts {
  contexts: ClusterContext[];
  /** kubeconfig's current-context, when it names a context that exists. */
  current?: string;
  /** The files read, in order ($KUBECONFIG, else ~/.kube/config). */
  files: string[];
  /** A file that could not be read or parsed, and why (the others still count). */
  problems: string[];
}

/** A request to the API server of `context`; `path` starts with `/api` or `/apis` (or `/version`). */
export interface ClusterRequest {
  context: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A long-lived request: a watch, `log?follow=true`, or with `subprotocols` a WebSocket to the API server
 * (exec, attach) whose binary messages are relayed both ways unchanged (the first byte is the channel).
 */
export interface ClusterStreamRequest extends ClusterRequest {
  subprotocols?: string[];
}

/** API paths the host proxies: the Kubernetes API and its version, nothing else on that server. */
export const CLUSTER_PATH = /^\/(api|apis|version|openapi)(\/|\?|$)/;

export function clusterPathAllowed(path: string): boolean {
  return CLUSTER_PATH.test(path) && !path.includes('/../') && !path.endsWith('/..');
}

/** The field manager the dashboard's server-side apply writes under. */
export const DASHBOARD_FIELD_MANAGER = 'berth-dashboard';

/** The parts of Kubernetes objects every view reads. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** kube-apiserver's error body (meta/v1 Status). */
export interface KubeStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/**
 * A port on the host's 127.0.0.1 forwarding to a pod's port through the API server's `pods/portforward` (as
 * `kubectl port-forward`). The host holds the listener and the credentials; the renderer names the pod.
 */
export interface PortForwardRequest {
  context: string;
  namespace: string;
  pod: string;
  /** The port in the pod (a container's port). */
  port: number;
  /** The host's port on 127.0.0.1; absent or 0: a free one. */
  localPort?: number;
}

export interface PortForwardInfo {
  id: string;
  context: string;
  namespace: string;
  pod: string;
  port: number;
  localPort: number;
  /** http://127.0.0.1:<localPort> */
  url: string;
  /** Connections open now, and since the start. */
  connections: number;
  total: number;
  startedAt: string;
  /** The last connection's failure, in the API server's or kubelet's words. */
  lastError?: string;
}

/** Valid pod/container port, and the host port (0: any free one). */
export function portForwardProblem(r: Partial<PortForwardRequest>): string | undefined {
  if (typeof r.context !== 'string' || !r.context) return 'a context is required';
  if (typeof r.namespace !== 'string' || !r.namespace) return 'a namespace is required';
  if (typeof r.pod !== 'string' || !r.pod) return 'a pod is required';
  if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535)
    return `the pod's port must be a number from 1 to 65535 (got ${String(r.port)})`;
  const l = r.localPort;
  if (l !== undefined && (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l > 65535))
    return `the local port must be a number from 1 to 65535, or empty for a free one (got ${String(l)})`;
  return undefined;
}

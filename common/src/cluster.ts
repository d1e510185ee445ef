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

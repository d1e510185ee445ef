/**
 * The Kubernetes types the kubelet reads and writes, as they travel (JSON): @kubernetes/client-node's models with
 * their `Date` fields as the RFC 3339 strings the API server sends and stores.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1ContainerStatus,
  V1Pod,
  V1PodStatus,
  V1Probe,
  V1Secret,
  V1Volume,
} from '@kubernetes/client-node';

/** T with every Date replaced by string, recursively (instance fields only). */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type Pod = Wire<V1Pod>;
export type PodStatus = Wire<V1PodStatus>;
export type Container = Wire<V1Container>;
export type ContainerStatus = Wire<V1ContainerStatus>;
export type ConfigMap = Wire<V1ConfigMap>;
export type Secret = Wire<V1Secret>;
export type Volume = Wire<V1Volume>;
export type Probe = Wire<V1Probe>;

/**
 * The Kubernetes objects the controllers and the scheduler read and write, as they travel (JSON):
 * @kubernetes/client-node's models with `Date` fields as RFC 3339 strings (the kubelet's `Wire`) and the
 * registry's ObjectMeta.
 */
import type {
  V1ConfigMap,
  V1ControllerRevision,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Endpoints,
  V1EndpointSlice,
  V1Job,
  V1Namespace,
  V1Node,
  V1OwnerReference,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodTemplateSpec,
  V1PriorityClass,
  V1ReplicaSet,
  V1ReplicationController,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
  V1StorageClass,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Wire } from '../../kubelet/types.js';
import type { ObjectMeta } from '../../registry/types.js';

/** An API object: the wire model with the registry's ObjectMeta, so it is a KubeObject the client accepts. */
export type Obj<T> = Omit<Wire<T>, 'metadata'> & { metadata?: ObjectMeta };

export type Pod = Obj<V1Pod>;
export type Node = Obj<V1Node>;
export type Namespace = Obj<V1Namespace>;
export type PodTemplateSpec = Wire<V1PodTemplateSpec>;
export type ReplicaSet = Obj<V1ReplicaSet>;
export type ReplicationController = Obj<V1ReplicationController>;
export type Deployment = Obj<V1Deployment>;
export type StatefulSet = Obj<V1StatefulSet>;
export type DaemonSet = Obj<V1DaemonSet>;
export type ControllerRevision = Obj<V1ControllerRevision>;
export type Job = Obj<V1Job>;
export type CronJob = Obj<V1CronJob>;
export type Service = Obj<V1Service>;
export type Endpoints = Obj<V1Endpoints>;
export type EndpointSlice = Obj<V1EndpointSlice>;
export type ServiceAccount = Obj<V1ServiceAccount>;
export type Secret = Obj<V1Secret>;
export type ConfigMap = Obj<V1ConfigMap>;
export type PersistentVolume = Obj<V1PersistentVolume>;
export type PersistentVolumeClaim = Obj<V1PersistentVolumeClaim>;
export type StorageClass = Obj<V1StorageClass>;
export type PriorityClass = Obj<V1PriorityClass>;
export type HorizontalPodAutoscaler = Obj<V2HorizontalPodAutoscaler>;
export type OwnerRef = Wire<V1OwnerReference>;

/** A condition as every status carries it (type, status, reason, message, times). */
export interface Condition {
  type: string;
  /** 'True', 'False' or 'Unknown'. */
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

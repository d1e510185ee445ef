/**
 * Every built-in resource berth-kube serves, group by group in kube-apiserver's discovery order, with its
 * short names, categories, verbs and subresources as kube-apiserver 1.32 lists them (verbs from the 1.32 OpenAPI
 * document's x-kubernetes-action). Kind-specific rules live in the strategies imported here; a kind without one
 * gets the generic rules only.
 */
import { hpaV1ToV2, hpaV2ToV1 } from '../cluster/hpa-versions.js';
import { crdStrategy } from '../../schema/crd/strategy.js';
import type { ResourceType } from '../types.js';
import { CREATE_ONLY, define } from './define.js';
import { configMapStrategy, secretStrategy } from '../core/configmaps.js';
import { namespaceStrategy } from '../core/namespaces.js';
import { podStrategy } from '../core/pods.js';
import { serviceStrategy, endpointsStrategy } from '../core/services.js';
import { nodeStrategy } from '../core/nodes.js';
import { eventStrategy } from '../core/events.js';
import { deploymentStrategy, replicaSetStrategy } from '../apps/workloads.js';
import {
  controllerRevisionStrategy,
  daemonSetStrategy,
  replicationControllerStrategy,
  statefulSetStrategy,
} from '../apps/sets.js';
import { cronJobStrategy, jobStrategy } from '../batch/jobs.js';
import { ingressClassStrategy, ingressStrategy } from '../networking/ingress.js';
import { endpointSliceStrategy, networkPolicyStrategy } from '../networking/network.js';
import {
  persistentVolumeClaimStrategy,
  persistentVolumeStrategy,
  storageClassStrategy,
} from '../storage/volumes.js';
import {
  apiServiceStrategy,
  clusterRoleBindingStrategy,
  horizontalPodAutoscalerStrategy,
  leaseStrategy,
  limitRangeStrategy,
  podDisruptionBudgetStrategy,
  podTemplateStrategy,
  priorityClassStrategy,
  resourceQuotaStrategy,
  roleBindingStrategy,
  roleStrategy,
  serviceAccountStrategy,
  validatingAdmissionPolicyBindingStrategy,
  validatingAdmissionPolicyStrategy,
} from '../cluster/admin.js';
import {
  mutatingWebhookConfigurationStrategy,
  validatingWebhookConfigurationStrategy,
} from '../cluster/webhook-configs.js';
import {
  csiDriverStrategy,
  csiNodeStrategy,
  csiStorageCapacityStrategy,
  volumeAttachmentStrategy,
} from '../storage/csi.js';

const ALL = ['all'];
const EXT = ['api-extensions'];
const STATUS = ['status'];
const SCALE_STATUS = ['scale', 'status'];

function core(): ResourceType[] {
  const d = (x: Parameters<typeof define>[2]) => define('', 'v1', x);
  return [
    d({ kind: 'Binding', verbs: CREATE_ONLY, virtual: true }),
    d({
      kind: 'ComponentStatus',
      plural: 'componentstatuses',
      namespaced: false,
      short: ['cs'],
      verbs: ['get', 'list'],
      virtual: true,
    }),
    d({ kind: 'ConfigMap', short: ['cm'], strategy: configMapStrategy }),
    d({
      kind: 'Endpoints',
      plural: 'endpoints',
      singular: 'endpoints',
      short: ['ep'],
      storageResource: 'services/endpoints',
      strategy: endpointsStrategy,
    }),
    d({ kind: 'Event', short: ['ev'], strategy: eventStrategy }),
    d({ kind: 'LimitRange', short: ['limits'], strategy: limitRangeStrategy }),
    d({
      kind: 'Namespace',
      namespaced: false,
      short: ['ns'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      subresources: ['finalize', 'status'],
      strategy: namespaceStrategy,
      returnDeletedObject: true,
    }),
    d({
      kind: 'Node',
      namespaced: false,
      short: ['no'],
      subresources: ['proxy', 'status'],
      storageResource: 'minions',
      strategy: nodeStrategy,
    }),
    d({
      kind: 'PersistentVolumeClaim',
      short: ['pvc'],
      subresources: STATUS,
      strategy: persistentVolumeClaimStrategy,
    }),
    d({
      kind: 'PersistentVolume',
      namespaced: false,
      short: ['pv'],
      subresources: STATUS,
      strategy: persistentVolumeStrategy,
    }),
    d({
      kind: 'Pod',
      short: ['po'],
      categories: ALL,
      subresources: [
        'attach',
        'binding',
        'ephemeralcontainers',
        'eviction',
        'exec',
        'log',
        'portforward',
        'proxy',
        'resize',
        'status',
      ],
      strategy: podStrategy,
      returnDeletedObject: true,
    }),
    d({ kind: 'PodTemplate', strategy: podTemplateStrategy }),
    d({
      kind: 'ReplicationController',
      short: ['rc'],
      categories: ALL,
      subresources: SCALE_STATUS,
      storageResource: 'controllers',
      strategy: replicationControllerStrategy,
    }),
    d({
      kind: 'ResourceQuota',
      short: ['quota'],
      subresources: STATUS,
      strategy: resourceQuotaStrategy,
    }),
    d({ kind: 'Secret', strategy: secretStrategy }),
    d({
      kind: 'ServiceAccount',
      short: ['sa'],
      subresources: ['token'],
      strategy: serviceAccountStrategy,
      returnDeletedObject: true,
    }),
    d({
      kind: 'Service',
      short: ['svc'],
      categories: ALL,
      subresources: ['proxy', 'status'],
      storageResource: 'services/specs',
      strategy: serviceStrategy,
      returnDeletedObject: true,
    }),
  ];
}

function groups(): ResourceType[] {
  const g = (group: string, version: string) => (x: Parameters<typeof define>[2]) =>
    define(group, version, x);
  const reg = g('apiregistration.k8s.io', 'v1');
  const apps = g('apps', 'v1');
  const events = g('events.k8s.io', 'v1');
  const authn = g('authentication.k8s.io', 'v1');
  const authz = g('authorization.k8s.io', 'v1');
  const as2 = g('autoscaling', 'v2');
  const as1 = g('autoscaling', 'v1');
  const batch = g('batch', 'v1');
  const net = g('networking.k8s.io', 'v1');
  const policy = g('policy', 'v1');
  const rbac = g('rbac.authorization.k8s.io', 'v1');
  const storage = g('storage.k8s.io', 'v1');
  const adm = g('admissionregistration.k8s.io', 'v1');
  const ext = g('apiextensions.k8s.io', 'v1');
  const sched = g('scheduling.k8s.io', 'v1');
  const coord = g('coordination.k8s.io', 'v1');
  const disc = g('discovery.k8s.io', 'v1');
  return [
    reg({
      kind: 'APIService',
      namespaced: false,
      categories: EXT,
      subresources: STATUS,
      storageResource: 'apiregistration.k8s.io/apiservices',
      strategy: apiServiceStrategy,
    }),
    apps({ kind: 'ControllerRevision', strategy: controllerRevisionStrategy }),
    apps({
      kind: 'DaemonSet',
      short: ['ds'],
      categories: ALL,
      subresources: STATUS,
      strategy: daemonSetStrategy,
    }),
    apps({
      kind: 'Deployment',
      short: ['deploy'],
      categories: ALL,
      subresources: SCALE_STATUS,
      strategy: deploymentStrategy,
    }),
    apps({
      kind: 'ReplicaSet',
      short: ['rs'],
      categories: ALL,
      subresources: SCALE_STATUS,
      strategy: replicaSetStrategy,
    }),
    apps({
      kind: 'StatefulSet',
      short: ['sts'],
      categories: ALL,
      subresources: SCALE_STATUS,
      strategy: statefulSetStrategy,
    }),
    events({ kind: 'Event', short: ['ev'], strategy: eventStrategy }),
    authn({ kind: 'SelfSubjectReview', namespaced: false, verbs: CREATE_ONLY, virtual: true }),
    authn({ kind: 'TokenReview', namespaced: false, verbs: CREATE_ONLY, virtual: true }),
    authz({ kind: 'LocalSubjectAccessReview', verbs: CREATE_ONLY, virtual: true }),
    authz({ kind: 'SelfSubjectAccessReview', namespaced: false, verbs: CREATE_ONLY, virtual: true }),
    authz({ kind: 'SelfSubjectRulesReview', namespaced: false, verbs: CREATE_ONLY, virtual: true }),
    authz({ kind: 'SubjectAccessReview', namespaced: false, verbs: CREATE_ONLY, virtual: true }),
    as2({
      kind: 'HorizontalPodAutoscaler',
      short: ['hpa'],
      categories: ALL,
      subresources: STATUS,
      strategy: horizontalPodAutoscalerStrategy,
    }),
    {
      ...as1({
        kind: 'HorizontalPodAutoscaler',
        short: ['hpa'],
        categories: ALL,
        subresources: STATUS,
        strategy: horizontalPodAutoscalerStrategy,
      }),
      // Stored as v2: the v1 view converts (targetCPUUtilizationPercentage is the CPU metric).
      storedAs: { version: 'v2', group: 'autoscaling', toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 },
    },
    batch({
      kind: 'CronJob',
      short: ['cj'],
      categories: ALL,
      subresources: STATUS,
      strategy: cronJobStrategy,
    }),
    batch({ kind: 'Job', categories: ALL, subresources: STATUS, strategy: jobStrategy }),
    net({ kind: 'IngressClass', namespaced: false, strategy: ingressClassStrategy }),
    net({
      kind: 'Ingress',
      plural: 'ingresses',
      short: ['ing'],
      subresources: STATUS,
      storageResource: 'ingress',
      strategy: ingressStrategy,
    }),
    net({ kind: 'NetworkPolicy', short: ['netpol'], strategy: networkPolicyStrategy }),
    policy({
      kind: 'PodDisruptionBudget',
      short: ['pdb'],
      subresources: STATUS,
      strategy: podDisruptionBudgetStrategy,
    }),
    rbac({ kind: 'ClusterRoleBinding', namespaced: false, strategy: clusterRoleBindingStrategy }),
    rbac({ kind: 'ClusterRole', namespaced: false, strategy: roleStrategy }),
    rbac({ kind: 'RoleBinding', strategy: roleBindingStrategy }),
    rbac({ kind: 'Role', strategy: roleStrategy }),
    storage({ kind: 'CSIDriver', namespaced: false, strategy: csiDriverStrategy }),
    storage({ kind: 'CSINode', namespaced: false, strategy: csiNodeStrategy }),
    storage({
      kind: 'CSIStorageCapacity',
      plural: 'csistoragecapacities',
      strategy: csiStorageCapacityStrategy,
    }),
    storage({
      kind: 'StorageClass',
      plural: 'storageclasses',
      namespaced: false,
      short: ['sc'],
      strategy: storageClassStrategy,
      returnDeletedObject: true,
    }),
    storage({
      kind: 'VolumeAttachment',
      namespaced: false,
      subresources: STATUS,
      strategy: volumeAttachmentStrategy,
    }),
    adm({
      kind: 'MutatingWebhookConfiguration',
      namespaced: false,
      categories: EXT,
      strategy: mutatingWebhookConfigurationStrategy,
    }),
    adm({
      kind: 'ValidatingAdmissionPolicy',
      plural: 'validatingadmissionpolicies',
      namespaced: false,
      categories: EXT,
      subresources: STATUS,
      strategy: validatingAdmissionPolicyStrategy,
    }),
    adm({
      kind: 'ValidatingAdmissionPolicyBinding',
      namespaced: false,
      categories: EXT,
      strategy: validatingAdmissionPolicyBindingStrategy,
    }),
    adm({
      kind: 'ValidatingWebhookConfiguration',
      namespaced: false,
      categories: EXT,
      strategy: validatingWebhookConfigurationStrategy,
    }),
    ext({
      kind: 'CustomResourceDefinition',
      namespaced: false,
      short: ['crd', 'crds'],
      categories: EXT,
      subresources: STATUS,
      storageResource: 'apiextensions.k8s.io/customresourcedefinitions',
      strategy: crdStrategy,
    }),
    sched({
      kind: 'PriorityClass',
      plural: 'priorityclasses',
      namespaced: false,
      short: ['pc'],
      strategy: priorityClassStrategy,
    }),
    coord({ kind: 'Lease', strategy: leaseStrategy }),
    disc({ kind: 'EndpointSlice', strategy: endpointSliceStrategy }),
  ];
}

export function builtinResources(): ResourceType[] {
  return [...core(), ...groups()];
}

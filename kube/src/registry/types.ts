/**
 * What the API server serves, resource by resource: one `ResourceType` per resource (discovery, storage key,
 * scope, verbs, subresources) and one `Strategy` that knows the resource's rules (defaults, validation, what a
 * status write may change, table columns, field selectors). The generic handlers know nothing about any kind;
 * everything kind-specific lives in a strategy under registry/<group>/, as kube-apiserver's
 * pkg/registry/<group>/<resource>/strategy.go. Strategies are pure (no HTTP, no store) and throw or return the
 * domain errors of ../errors.ts.
 */
import type { FieldError } from '../errors.js';

/** Any Kubernetes object as JSON. Kind-specific code narrows it with the types of @kubernetes/client-node. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  selfLink?: string;
}

export interface GroupVersionKind {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
}

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** A subresource as discovery lists it (`deployments/scale` is kind Scale in autoscaling/v1). */
export interface SubresourceInfo {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: Verb[];
}

/** One column of a server-side Table (metav1.TableColumnDefinition). */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  /** 0 for the default view; >0 only with `-o wide`. */
  priority: number;
}

export interface TableConvertor {
  columns: TableColumn[];
  /** The cells of one row, in column order (first cell is the name). */
  cells(obj: KubeObject): unknown[];
}

/** Who is asking, for strategies that stamp or check the requester (e.g. serviceaccount tokens, CSR). */
export interface RequestUser {
  name: string;
  uid?: string;
  groups: string[];
}

export interface StrategyContext {
  user: RequestUser;
  /** Now, injectable so tests and the whole request see one instant. */
  now: Date;
}

/**
 * The rules of one resource. Every hook is optional: the generic handler applies kube-apiserver's
 * common rules (names, namespace, metadata, generation on spec change) around them.
 */
export interface Strategy {
  /** Field defaults (pkg/apis/<group>/v1/defaults.go), applied on create and update before validation. */
  defaults?(obj: KubeObject): void;
  /** Resets what a create may not set (status, for most kinds). */
  prepareForCreate?(obj: KubeObject, ctx: StrategyContext): void;
  /** Keeps what a main-resource update may not change (status), and the reverse for a status update. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  prepareForStatusUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  validate?(obj: KubeObject, ctx: StrategyContext): FieldError[];
  /** Update rules on top of validate (immutable fields and the like). */
  validateUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): FieldError[];
  /** Server-side printing columns (kubectl get without -o). Absent: NAME and AGE (CREATED AT for cluster scope). */
  table?: TableConvertor;
  /** Field selectors beyond metadata.name and metadata.namespace, as field → value of the object. */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
  /** Warnings sent back in the Warning header (deprecations and the like). */
  warnings?(obj: KubeObject, old?: KubeObject): string[];
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural, lower case: the URL segment and the RBAC resource. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: Verb[];
  subresources?: SubresourceInfo[];
  /** Storage key's resource segment when it differs from the plural (`minions` for nodes, `services/specs`). */
  storageResource?: string;
  strategy: Strategy;
}

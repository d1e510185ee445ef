/**
 * What the API server serves, resource by resource: one `ResourceType` per resource (discovery, storage key,
 * scope, verbs, subresources) and one `Strategy` that knows the resource's rules (defaults, validation, what a
 * status write may change, table columns, field selectors). The generic handlers know nothing about any kind;
 * everything kind-specific lives in a strategy under registry/<group>/, as kube-apiserver's
 * pkg/registry/<group>/<resource>/strategy.go. Strategies are pure (no HTTP, no store) and throw or return the
 * domain errors of ../errors.ts.
 */
import type { FieldError } from '../errors.js';
import type { NameValidator } from './validation/names.js';

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
  /** Extra attributes (authentication.k8s.io/v1 UserInfo.extra), e.g. a service account token's pod name. */
  extra?: Record<string, string[]>;
}

export interface StrategyContext {
  user: RequestUser;
  /** Now, injectable so tests and the whole request see one instant. */
  now: Date;
  /** Reads other objects (allocators, reference checks); absent in pure unit tests. */
  read?: ObjectReader;
  /** Adds a warning to the response (validation that warns rather than refuses: ratcheted CRD rules). */
  warn?: (text: string) => void;
}

export interface ObjectReader {
  list(apiVersion: string, plural: string, namespace?: string): Promise<KubeObject[]>;
}

/**
 * The rules of one resource. Every hook is optional: the generic handler applies kube-apiserver's
 * common rules (names, namespace, metadata, generation on spec change) around them.
 */
export interface Strategy {
  /** Field defaults (pkg/apis/<group>/v1/defaults.go), applied on create and update before validation. */
  defaults?(obj: KubeObject): void;
  /** Async work before a create is stored, after validation (allocations: a Service's cluster IP). */
  beforeCreate?(obj: KubeObject, ctx: StrategyContext): Promise<void>;
  /** The same for an update of the main resource (a Service that becomes NodePort gets its node ports). */
  beforeUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): Promise<void>;
  /** Resets what a create may not set (status, for most kinds). */
  prepareForCreate?(obj: KubeObject, ctx: StrategyContext): void;
  /** Keeps what a main-resource update may not change (status), and the reverse for a status update. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  prepareForStatusUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  validate?(obj: KubeObject, ctx: StrategyContext): FieldError[];
  /** Update rules on top of validate (immutable fields and the like). */
  validateUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): FieldError[];
  /**
   * validateUpdate checks the whole object on update, and validate is for creates only (kube-apiserver's own
   * contract; custom resources need it: their update validation ratchets, so it is not validate's plus some).
   */
  validateUpdateOnly?: boolean;
  /** The rules of a write through /status (the status strategy's ValidateUpdate); absent: none beyond metadata. */
  validateStatusUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): FieldError[];
  /** Subresources whose updates change one part of the object (pods/ephemeralcontainers), with their rules. */
  subresourceUpdates?: Record<
    string,
    {
      prepare(obj: KubeObject, old: KubeObject): KubeObject;
      validate(obj: KubeObject, old: KubeObject): FieldError[];
    }
  >;
  /** Server-side printing columns (kubectl get without -o). Absent: NAME and AGE (CREATED AT for cluster scope). */
  table?: TableConvertor;
  /** Field selectors beyond metadata.name and metadata.namespace, as field → value of the object. */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
  /** Warnings sent back in the Warning header (deprecations and the like). */
  warnings?(obj: KubeObject, old?: KubeObject): string[];
  /** metadata.name syntax (apimachinery's ValidateNameFunc); default: DNS-1123 subdomain. */
  nameValidator?: NameValidator;
  /**
   * When metadata.generation moves: 'spec' (workloads: bumped when .spec changes), 'nonStatus' (custom
   * resources: anything but status and metadata); absent: generation is not tracked.
   */
  generation?: 'spec' | 'nonStatus';
  /** PUT on a missing object creates it (endpoints, events, leases as kube-apiserver allows). */
  allowCreateOnUpdate?: boolean;
  /** A PUT without metadata.resourceVersion overwrites (default true, as for nearly every built-in kind). */
  allowUnconditionalUpdate?: boolean;
  /**
   * Graceful deletion (pods): the grace period to apply given the one requested, or undefined to delete at once.
   * Absent: the kind is deleted immediately (unless finalizers hold it).
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number | undefined;
  /** Default propagation when a delete names none (kube-apiserver: Background for nearly all kinds). */
  defaultPropagation?: 'Background' | 'Orphan';
  /** The `status` a create starts with when the kind has a status subresource (default: {}). */
  initialStatus?(obj: KubeObject): unknown;
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
  /** DELETE answers with the object (pods, services, namespaces...) rather than a Success Status. */
  returnDeletedObject?: boolean;
  /**
   * Another served version of the same objects (autoscaling/v1 and v2 HPAs, core and events.k8s.io Events): the
   * objects are stored as the version named here, converted on the way in and out.
   */
  storedAs?: {
    version: string;
    group?: string;
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
  /** Served (and in discovery) but not stored: review kinds (SelfSubjectAccessReview), create-only. */
  virtual?: boolean;
}

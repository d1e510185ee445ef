/**
 * What a CRD serves: one ResourceType per served version (kube-apiserver serves them side by side, all stored as
 * the storage version; conversion strategy None only rewrites apiVersion), each with a strategy built from the
 * version's schema: defaults, schema validation, status kept apart when the status subresource is on,
 * additionalPrinterColumns as the table, selectableFields as field selectors, deprecation warnings, and the scale
 * subresource's view. `customInfo(t)` tells the API server a type is custom (merge patch only, no strategic merge
 * patch) and gives it the scale and decode hooks.
 */
import { KubeError, type FieldError } from '../../errors.js';
import type { KubeObject, ResourceType, Strategy, SubresourceInfo } from '../../registry/types.js';
import type { Schema } from '../types.js';
import { customTable } from './columns.js';
import { findJsonPath, parseJsonPath, printJsonPathValue } from './jsonpath.js';
import { applyDefaults } from './prune.js';
import type { CrdVersion, CustomResourceDefinition, ScaleSubresource } from './types.js';
import { Correlated } from './correlate.js';
import { hasListInvariants, listTypeErrors } from './listtype.js';
import { evaluateRules, hasRules, type RuleOptions } from './rules.js';
import { validateValue } from './values.js';

/** The custom side of a served custom type. */
export interface CustomInfo {
  crd: string;
  group: string;
  version: string;
  storageVersion: string;
  schema: Schema | undefined;
  scale?: ScaleAccess;
  /** The CRD is being deleted: creates answer 405 "create not allowed while custom resource definition is terminating". */
  terminating?: boolean;
}

/** autoscaling/v1 Scale over a custom resource (specReplicasPath, statusReplicasPath, labelSelectorPath). */
export interface ScaleAccess {
  /** spec.replicas, status.replicas and status.selector of the Scale for `obj`. */
  read(obj: KubeObject): { specReplicas: number; statusReplicas: number; selector?: string };
  /** `obj` with spec replicas set (a new object). */
  write(obj: KubeObject, replicas: number): KubeObject;
}

const INFO = new WeakMap<ResourceType, CustomInfo>();

/** The custom side of `t`, or undefined for built-in types. */
export function customInfo(t: ResourceType): CustomInfo | undefined {
  return INFO.get(t);
}

export const isCustomResource = (t: ResourceType): boolean => INFO.has(t);

/** Patch types a custom resource accepts (strategic merge patch is 415, as for kube-apiserver). */
export const CUSTOM_PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/apply-patch+cbor',
];

const RW: SubresourceInfo['verbs'] = ['get', 'patch', 'update'];

/** kube's version priority: GA before beta before alpha, higher numbers first, anything else alphabetical last. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: 3, major: 0, minor: 0 };
    return {
      rank: m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2,
      major: Number(m[1]),
      minor: Number(m[3] ?? 0),
    };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.rank !== y.rank) return x.rank - y.rank;
  if (x.rank === 3) return a < b ? -1 : a > b ? 1 : 0;
  return y.major - x.major || y.minor - x.minor;
}

function pathSteps(p: string): string[] {
  return p.replace(/^\./, '').split('.');
}

function getAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of pathSteps(path)) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const steps = pathSteps(path);
  let cur = obj;
  for (const k of steps.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[steps[steps.length - 1]] = value;
}

function scaleAccess(scale: ScaleSubresource): ScaleAccess {
  return {
    read(obj) {
      const spec = getAt(obj, scale.specReplicasPath);
      const status = getAt(obj, scale.statusReplicasPath);
      const sel = scale.labelSelectorPath ? getAt(obj, scale.labelSelectorPath) : undefined;
      return {
        specReplicas: typeof spec === 'number' ? spec : 0,
        statusReplicas: typeof status === 'number' ? status : 0,
        ...(typeof sel === 'string' ? { selector: sel } : {}),
      };
    },
    write(obj, replicas) {
      const out = structuredClone(obj) as Record<string, unknown>;
      setAt(out, scale.specReplicasPath, replicas);
      return out;
    },
  };
}

/** ValidateScaleSpec / ValidateScaleStatus: replicas must be non-negative int32s. */
function scaleErrors(obj: KubeObject, path: string): FieldError[] {
  const v = getAt(obj, path);
  if (v === undefined) return [];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    return [
      {
        type: 'FieldValueInvalid',
        field: path,
        badValue: v,
        detail: `${path} has invalid value: ${JSON.stringify(v)}`,
      },
    ];
  }
  if (v < 0)
    return [
      { type: 'FieldValueInvalid', field: path, badValue: v, detail: 'should be a non-negative integer' },
    ];
  if (v > 2147483647)
    return [
      {
        type: 'FieldValueInvalid',
        field: path,
        badValue: v,
        detail: 'should be less than or equal to 2147483647',
      },
    ];
  return [];
}

/** Schema errors that keep the CEL rules from running (hasBlockingErr): the rules would see values of the wrong shape. */
const BLOCKING = new Set<FieldError['type']>([
  'FieldValueNotSupported',
  'FieldValueRequired',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'FieldValueTypeInvalid',
]);

/** The CEL rules' errors, or kube-apiserver's one error saying they were not checked after a blocking error. */
function ruleErrors(
  schema: Schema,
  obj: KubeObject,
  old: KubeObject | undefined,
  errs: FieldError[],
  opts: RuleOptions = {},
): FieldError[] {
  if (errs.some((e) => BLOCKING.has(e.type))) {
    const detail =
      'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';
    return [{ type: 'FieldValueInvalid', field: '<nil>', badValue: 'null', detail }];
  }
  return evaluateRules(schema, obj, old, opts);
}

/** The status part's schema errors, as kube-apiserver's status validator words them (paths under status). */
function statusErrors(statusSchema: Schema, status: unknown): FieldError[] {
  return validateValue(statusSchema, status).map((e) => ({
    ...e,
    field: e.field ? `status.${e.field}` : 'status',
  }));
}

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** A version's rules (metadata.generation moves on any change but metadata and status: the generic store does it). */
function strategyFor(crd: CustomResourceDefinition, v: CrdVersion, info: CustomInfo): Strategy {
  const schema = v.schema?.openAPIV3Schema;
  const status = !!v.subresources?.status;
  const statusSchema = schema?.properties?.status;
  const scale = v.subresources?.scale;
  const rules = hasRules(schema);
  const lists = hasListInvariants(schema) ? schema : undefined;
  // On updates the set and map invariants ratchet as a whole: an old object that broke them exempts the new one.
  const listErrors = (obj: KubeObject, old?: KubeObject): FieldError[] =>
    !lists || (old && listTypeErrors(lists, old).length) ? [] : listTypeErrors(lists, obj);
  const { group } = crd.spec;
  const kind = crd.spec.names.kind;
  const typeMeta = (obj: KubeObject): FieldError[] => {
    const out: FieldError[] = [];
    if (obj.kind !== kind)
      out.push({ type: 'FieldValueInvalid', field: 'kind', badValue: obj.kind, detail: `must be ${kind}` });
    if (obj.apiVersion !== `${group}/${v.name}`) {
      out.push({
        type: 'FieldValueInvalid',
        field: 'apiVersion',
        badValue: obj.apiVersion,
        detail: `must be ${group}/${v.name}`,
      });
    }
    return out;
  };
  const selectors: Record<string, (obj: KubeObject) => string | undefined> = {};
  for (const f of v.selectableFields ?? []) {
    const steps = parseJsonPath(f.jsonPath);
    selectors[f.jsonPath.replace(/^\./, '')] = (obj) => {
      const found = findJsonPath(obj, steps);
      return found.length ? printJsonPathValue(found[0]) : undefined;
    };
  }
  return {
    generation: 'nonStatus',
    defaults(obj) {
      if (schema) applyDefaults(obj, schema);
    },
    prepareForCreate(obj) {
      if (info.terminating) {
        throw new KubeError(
          'MethodNotAllowed',
          'create not allowed while custom resource definition is terminating',
        );
      }
      if (status) delete obj.status;
    },
    prepareForUpdate(obj, old) {
      if (status) {
        if ('status' in old) obj.status = old.status;
        else delete obj.status;
      }
    },
    prepareForStatusUpdate(obj, old) {
      // Only status (and metadata the generic handler governs) changes through /status.
      for (const k of Object.keys(obj)) if (k !== 'status' && k !== 'metadata') delete obj[k];
      for (const [k, val] of Object.entries(old))
        if (k !== 'status' && k !== 'metadata') obj[k] = structuredClone(val);
    },
    // customResourceStrategy.Validate: type, schema, scale, list invariants, then the rules unless the schema found
    // blocking errors.
    validate(obj) {
      const out = [...typeMeta(obj)];
      if (schema) out.push(...validateValue(schema, obj));
      if (scale)
        out.push(...scaleErrors(obj, scale.specReplicasPath), ...scaleErrors(obj, scale.statusReplicasPath));
      out.push(...listErrors(obj));
      if (rules) out.push(...ruleErrors(schema!, obj, undefined, out));
      return out;
    },
    // customResourceStrategy.ValidateUpdate, with CRDValidationRatcheting (on by default in 1.32): the schema's
    // errors on values unchanged from `old` are dropped, failed rules without oldSelf there become warnings, so
    // objects stored under a looser schema can still be updated elsewhere.
    validateUpdateOnly: true,
    validateUpdate(obj, old, ctx) {
      const ratchet = schema ? new Correlated(obj, old, schema) : undefined;
      const out = [...typeMeta(obj)];
      if (schema) out.push(...validateValue(schema, obj, '', ratchet));
      if (scale)
        out.push(...scaleErrors(obj, scale.specReplicasPath), ...scaleErrors(obj, scale.statusReplicasPath));
      out.push(...listErrors(obj, old));
      if (rules)
        out.push(
          ...ruleErrors(schema!, obj, old, out, {
            ...(ratchet ? { ratchet } : {}),
            ...(ctx.warn ? { warn: ctx.warn } : {}),
          }),
        );
      return out;
    },
    // statusStrategy.ValidateUpdate (1.32): the status part against the status schema, without ratcheting, then
    // every rule of the whole object (spec's too, transition rules with the old object).
    validateStatusUpdate(obj, old) {
      const out = [...typeMeta(obj)];
      if (statusSchema && obj.status !== undefined) out.push(...statusErrors(statusSchema, obj.status));
      if (scale) out.push(...scaleErrors(obj, scale.statusReplicasPath));
      out.push(...listErrors(obj, old));
      if (rules) out.push(...ruleErrors(schema!, obj, old, out));
      return out;
    },
    table: customTable(v.additionalPrinterColumns),
    fieldSelectors: selectors,
    warnings(obj, old) {
      const out: string[] = [];
      if (v.deprecated) out.push(v.deprecationWarning ?? `${group}/${v.name} ${kind} is deprecated`);
      const before = new Set(old?.metadata?.finalizers ?? []);
      for (const f of obj.metadata?.finalizers ?? []) {
        if (before.has(f) || f.includes('/') || STANDARD_FINALIZERS.has(f)) continue;
        const why = f.includes('.')
          ? 'prefer a domain-qualified finalizer name including a path (/)'
          : 'prefer a domain-qualified finalizer name';
        out.push(
          `metadata.finalizers: ${JSON.stringify(f)}: ${why} to avoid accidental conflicts with other finalizer writers`,
        );
      }
      return out;
    },
  };
}

/** The served types of a CRD, by the names it was accepted with (status.acceptedNames, else spec.names). */
export function crdResourceTypes(crd: CustomResourceDefinition): ResourceType[] {
  const names = { ...crd.spec.names, ...(crd.status?.acceptedNames ?? {}) };
  const storage = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
  const out: ResourceType[] = [];
  for (const v of [...crd.spec.versions].sort((a, b) => compareVersions(a.name, b.name))) {
    if (!v.served) continue;
    const info: CustomInfo = {
      crd: crd.metadata?.name ?? `${names.plural}.${crd.spec.group}`,
      group: crd.spec.group,
      version: v.name,
      storageVersion: storage ?? v.name,
      schema: v.schema?.openAPIV3Schema,
      ...(v.subresources?.scale ? { scale: scaleAccess(v.subresources.scale) } : {}),
    };
    const subresources: SubresourceInfo[] = [];
    if (v.subresources?.status) subresources.push({ name: 'status', kind: names.kind, verbs: RW });
    if (v.subresources?.scale)
      subresources.push({ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: RW });
    const t: ResourceType & Record<string, unknown> = {
      group: crd.spec.group,
      version: v.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular || names.kind.toLowerCase(),
      namespaced: crd.spec.scope === 'Namespaced',
      ...(names.shortNames?.length ? { shortNames: names.shortNames } : {}),
      ...(names.categories?.length ? { categories: names.categories } : {}),
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      ...(subresources.length ? { subresources } : {}),
      // kube-apiserver's key for custom resources: /registry/<group>/<plural>/...
      storageResource: `${crd.spec.group}/${names.plural}`,
      strategy: strategyFor(crd, v, info),
    };
    if (storage && v.name !== storage) {
      const group = crd.spec.group;
      // Conversion strategy None: the same object, only apiVersion differs.
      t.storedAs = {
        version: storage,
        group,
        toStorage: (obj: KubeObject) => ({ ...obj, apiVersion: `${group}/${storage}` }),
        fromStorage: (obj: KubeObject) => ({ ...obj, apiVersion: `${group}/${v.name}` }),
      };
    }
    INFO.set(t, info);
    out.push(t);
  }
  return out;
}

/**
 * Putting a CRD's types in service and taking them out: the served resource table (kcore's ResourceCatalog: add,
 * remove, version order, which discovery and the handlers read) and the schema catalog (OpenAPI, explain, field
 * validation, pruning). Idempotent: serving a changed CRD replaces its types, dropping versions no longer served.
 */
import type { ResourceType } from '../../registry/types.js';
import { deleteCustomDefinitions, setCustomDefinitions } from '../catalog.js';
import { allCrdDefinitions } from './definitions.js';
import { compareVersions, crdResourceTypes } from './resource.js';
import type { CustomResourceDefinition } from './types.js';

/** The part of the resource table a CRD needs (kcore's ResourceCatalog has it). */
export interface ServedTypes {
  add(t: ResourceType): void;
  remove(group: string, version: string, plural: string): void;
  orderVersions?(group: string, versions: string[]): void;
}

const servedBy = new Map<string, ResourceType[]>();

const keyOf = (t: ResourceType) => `${t.group}/${t.version}/${t.plural}`;

/** Serves the CRD's served versions under its accepted names; returns the types now served. */
export function serveCrd(crd: CustomResourceDefinition, table: ServedTypes): ResourceType[] {
  const name = crd.metadata?.name ?? `${crd.spec.names.plural}.${crd.spec.group}`;
  const accepted = crd.status?.acceptedNames?.plural
    ? { ...crd.spec.names, ...crd.status.acceptedNames }
    : crd.spec.names;
  const named: CustomResourceDefinition = { ...crd, spec: { ...crd.spec, names: accepted } };
  const types = crdResourceTypes(named);
  const now = new Set(types.map(keyOf));
  for (const old of servedBy.get(name) ?? [])
    if (!now.has(keyOf(old))) table.remove(old.group, old.version, old.plural);
  setCustomDefinitions(name, { definitions: allCrdDefinitions(named) });
  for (const t of types) table.add(t);
  table.orderVersions?.(crd.spec.group, types.map((t) => t.version).sort(compareVersions));
  servedBy.set(name, types);
  return types;
}

/** Stops serving a CRD's types (its objects stay in the store until deleted). */
export function unserveCrd(name: string, table: ServedTypes): void {
  for (const t of servedBy.get(name) ?? []) table.remove(t.group, t.version, t.plural);
  servedBy.delete(name);
  deleteCustomDefinitions(name);
}

/** The types a CRD serves now (for cleanup: the storage prefix of its objects). */
export function servedTypes(name: string): ResourceType[] {
  return servedBy.get(name) ?? [];
}

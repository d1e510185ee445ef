/**
 * What is served right now: every ResourceType by group/version/plural and by kind. Built-ins are added at start;
 * CustomResourceDefinitions add and remove theirs while the server runs, so lookups always go through here and
 * listeners (discovery caches, the OpenAPI document, the garbage collector) hear of each change.
 */
import type { GroupVersionKind, ResourceType } from './types.js';

export interface GroupInfo {
  name: string;
  /** Versions in priority order; the first is the preferred one. */
  versions: string[];
}

export type CatalogListener = (change: { added?: ResourceType; removed?: ResourceType }) => void;

const gvKey = (group: string, version: string) => `${group}/${version}`;

export class ResourceCatalog {
  private readonly byResource = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();
  /** group → versions in the order they were first added (built-ins add the preferred version first). */
  private readonly groupOrder = new Map<string, string[]>();
  private readonly listeners = new Set<CatalogListener>();
  private generation = 0;

  add(t: ResourceType): void {
    const key = `${gvKey(t.group, t.version)}/${t.plural}`;
    const previous = this.byResource.get(key);
    if (previous) this.byKind.delete(`${gvKey(previous.group, previous.version)}/${previous.kind}`);
    this.byResource.set(key, t);
    this.byKind.set(`${gvKey(t.group, t.version)}/${t.kind}`, t);
    const versions = this.groupOrder.get(t.group) ?? [];
    if (!versions.includes(t.version)) versions.push(t.version);
    this.groupOrder.set(t.group, versions);
    this.generation++;
    for (const l of this.listeners) l({ added: t });
  }

  remove(group: string, version: string, plural: string): void {
    const key = `${gvKey(group, version)}/${plural}`;
    const t = this.byResource.get(key);
    if (!t) return;
    this.byResource.delete(key);
    this.byKind.delete(`${gvKey(group, version)}/${t.kind}`);
    if (!this.versionTypes(group, version).length) {
      const versions = (this.groupOrder.get(group) ?? []).filter((v) => v !== version);
      if (versions.length) this.groupOrder.set(group, versions);
      else this.groupOrder.delete(group);
    }
    this.generation++;
    for (const l of this.listeners) l({ removed: t });
  }

  /** Puts a group's versions in priority order (CRDs: kube's version priority; the first is preferred). */
  orderVersions(group: string, versions: string[]): void {
    const have = this.groupOrder.get(group);
    if (!have) return;
    this.groupOrder.set(group, [
      ...versions.filter((v) => have.includes(v)),
      ...have.filter((v) => !versions.includes(v)),
    ]);
    this.generation++;
  }

  get(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byResource.get(`${gvKey(group, version)}/${plural}`);
  }

  kind(gvk: GroupVersionKind): ResourceType | undefined {
    return this.byKind.get(`${gvKey(gvk.group, gvk.version)}/${gvk.kind}`);
  }

  /** The resource for a kind in any served version of its group, preferring `version`. */
  kindAnyVersion(group: string, kind: string, version?: string): ResourceType | undefined {
    if (version) {
      const exact = this.kind({ group, version, kind });
      if (exact) return exact;
    }
    for (const v of this.groupOrder.get(group) ?? []) {
      const t = this.kind({ group, version: v, kind });
      if (t) return t;
    }
    return undefined;
  }

  versionTypes(group: string, version: string): ResourceType[] {
    const prefix = `${gvKey(group, version)}/`;
    return [...this.byResource.entries()].filter(([k]) => k.startsWith(prefix)).map(([, t]) => t);
  }

  /** Every served type (all versions). */
  all(): ResourceType[] {
    return [...this.byResource.values()];
  }

  groups(): GroupInfo[] {
    return [...this.groupOrder.entries()].map(([name, versions]) => ({ name, versions: [...versions] }));
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.groupOrder.get(group)?.includes(version) ?? false;
  }

  /** Bumped on every change: caches of derived documents (discovery) compare it. */
  get version(): number {
    return this.generation;
  }

  onChange(l: CatalogListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** `pods`, `deployments.apps`: how kube-apiserver names a resource in messages. */
export function qualifiedResource(t: { group: string; plural: string }): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

/**
 * Discovery documents, built from the catalog and cached until it changes: /api, /apis, /apis/<group>, each
 * group-version's APIResourceList, and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), which kubectl
 * 1.32 asks for first and uses only when the reply's Content-Type names it.
 */
import { createHash } from 'node:crypto';
import type { ResourceCatalog } from '../registry/catalog.js';
import type { ResourceType } from '../registry/types.js';

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** storageversionhash.StorageVersionHash: the first 8 bytes of sha256("group/version/kind"), base64. */
export function storageVersionHash(t: ResourceType): string {
  const v = t.storedAs?.version ?? t.version;
  const g = t.storedAs?.group ?? t.group;
  return createHash('sha256').update(`${g}/${v}/${t.kind}`).digest().subarray(0, 8).toString('base64');
}

function legacyResources(types: ResourceType[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown> & { name: string }> = [];
  for (const t of types) {
    const r: Record<string, unknown> & { name: string } = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: [...t.verbs],
    };
    if (t.shortNames?.length) r.shortNames = t.shortNames;
    if (t.categories?.length) r.categories = t.categories;
    if (!t.virtual) r.storageVersionHash = storageVersionHash(t);
    out.push(r);
    for (const s of t.subresources ?? []) {
      const sr: Record<string, unknown> & { name: string } = {
        name: `${t.plural}/${s.name}`,
        singularName: '',
        namespaced: t.namespaced,
      };
      if (s.group !== undefined) {
        sr.group = s.group;
        sr.version = s.version;
      }
      sr.kind = s.kind;
      sr.verbs = [...s.verbs];
      out.push(sr);
    }
  }
  return out.sort(byName);
}

function aggregatedResources(types: ResourceType[]): Array<Record<string, unknown>> {
  return [...types]
    .sort((a, b) => (a.plural < b.plural ? -1 : 1))
    .map((t) => {
      const r: Record<string, unknown> = {
        resource: t.plural,
        responseKind: { group: t.group, version: t.version, kind: t.kind },
        scope: t.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: t.singular,
        verbs: [...t.verbs],
      };
      if (t.shortNames?.length) r.shortNames = t.shortNames;
      if (t.categories?.length) r.categories = t.categories;
      if (t.subresources?.length)
        r.subresources = [...t.subresources]
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((s) => ({
            subresource: s.name,
            responseKind: { group: s.group ?? t.group, version: s.version ?? t.version, kind: s.kind },
            verbs: [...s.verbs],
          }));
      return r;
    });
}

export class Discovery {
  private cacheVersion = -1;
  private cache = new Map<string, unknown>();

  constructor(
    private readonly catalog: ResourceCatalog,
    /** host:port clients reach the server at (serverAddressByClientCIDRs). */
    private readonly serverAddress: () => string,
  ) {}

  private memo<T>(key: string, build: () => T): T {
    if (this.cacheVersion !== this.catalog.version) {
      this.cache = new Map();
      this.cacheVersion = this.catalog.version;
    }
    if (!this.cache.has(key)) this.cache.set(key, build());
    return this.cache.get(key) as T;
  }

  api(): unknown {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.serverAddress() }],
    };
  }

  private groupEntry(name: string, versions: string[]): Record<string, unknown> {
    const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions: vs, preferredVersion: vs[0] };
  }

  apis(): unknown {
    return this.memo('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.catalog
        .groups()
        .filter((g) => g.name !== '')
        .map((g) => this.groupEntry(g.name, g.versions)),
    }));
  }

  group(name: string): object | undefined {
    const g = this.catalog.groups().find((x) => x.name === name && name !== '');
    if (!g) return undefined;
    return { kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(g.name, g.versions) };
  }

  resourceList(group: string, version: string): object | undefined {
    if (!this.catalog.hasGroupVersion(group, version)) return undefined;
    return this.memo(`rl:${group}/${version}`, () => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: legacyResources(this.catalog.versionTypes(group, version)),
    }));
  }

  /** Aggregated discovery of the core group (/api) or of every other group (/apis). */
  aggregated(core: boolean, version: 'v2' | 'v2beta1'): unknown {
    return this.memo(`agg:${core}:${version}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items: this.catalog
        .groups()
        .filter((g) => (g.name === '') === core)
        .map((g) => ({
          metadata: core ? { creationTimestamp: null } : { name: g.name, creationTimestamp: null },
          versions: g.versions.map((v) => ({
            version: v,
            resources: aggregatedResources(this.catalog.versionTypes(g.name, v)),
            freshness: 'Current',
          })),
        })),
    }));
  }
}

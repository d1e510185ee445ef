/** The CRD lifecycle over a fake store: established and served, changed, two CRDs fighting for names, deleted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceType } from '../src/registry/types.js';
import { catalog } from '../src/schema/catalog.js';
import { CrdController, type CrdStore } from '../src/schema/crd/controller.js';
import { customInfo } from '../src/schema/crd/resource.js';
import { CLEANUP_FINALIZER, crdStrategy } from '../src/schema/crd/strategy.js';
import type { CustomResourceDefinition } from '../src/schema/crd/types.js';
import { cronTabCrd } from './fixtures/crontab.js';

class FakeStore implements CrdStore {
  readonly crds = new Map<string, CustomResourceDefinition>();
  objects = new Map<string, number>();
  held = 0;
  private listener?: (crd: CustomResourceDefinition, deleted: boolean) => void;
  statusWrites = 0;

  put(crd: CustomResourceDefinition) {
    this.crds.set(crd.metadata?.name ?? '', crd);
    this.listener?.(crd, false);
  }
  async list() {
    return [...this.crds.values()];
  }
  async watch(l: (crd: CustomResourceDefinition, deleted: boolean) => void) {
    this.listener = l;
    return { stop: () => (this.listener = undefined) };
  }
  async updateStatus(crd: CustomResourceDefinition) {
    this.statusWrites++;
    const stored = structuredClone(crd);
    this.crds.set(crd.metadata?.name ?? '', stored);
    return stored;
  }
  async removeFinalizer(crd: CustomResourceDefinition, f: string) {
    const finalizers = (crd.metadata?.finalizers ?? []).filter((x) => x !== f);
    const name = crd.metadata?.name ?? '';
    if (finalizers.length === 0 && crd.metadata?.deletionTimestamp) {
      this.crds.delete(name);
      this.listener?.(crd, true);
    } else this.put({ ...crd, metadata: { ...crd.metadata, finalizers } });
  }
  async deleteAll(types: ResourceType[]) {
    const key = types[0]?.storageResource ?? '';
    const n = this.objects.get(key) ?? 0;
    this.objects.set(key, this.held);
    return Math.min(n, this.held);
  }
}

class Table {
  readonly types = new Map<string, ResourceType>();
  add(t: ResourceType) {
    this.types.set(`${t.group}/${t.version}/${t.plural}`, t);
  }
  remove(g: string, v: string, p: string) {
    this.types.delete(`${g}/${v}/${p}`);
  }
}

function created(mutate?: (c: CustomResourceDefinition) => void): CustomResourceDefinition {
  const c = cronTabCrd();
  mutate?.(c);
  crdStrategy.defaults?.(c);
  crdStrategy.prepareForCreate?.(c, { user: { name: 'admin', groups: [] }, now: new Date() });
  return c;
}

describe('CRD controller', () => {
  it('establishes, serves, follows changes and cleans up on delete', async () => {
    const store = new FakeStore();
    const table = new Table();
    const ctl = new CrdController({ store, served: table });
    await ctl.start();
    store.put(created());
    await ctl.idle();
    const stored = store.crds.get('crontabs.stable.example.com');
    assert.deepEqual(
      stored?.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['NamesAccepted=True', 'Established=True'],
    );
    assert.deepEqual(stored?.status?.storedVersions, ['v1']);
    assert.ok(table.types.has('stable.example.com/v1/crontabs'));
    assert.ok((await catalog()).kind({ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }));

    // A second version, served: both types, v2 preferred, stored as v1.
    assert.ok(stored);
    const v2 = structuredClone(stored);
    v2.spec.versions.push({ ...structuredClone(v2.spec.versions[0]), name: 'v2', storage: false });
    const writes = store.statusWrites;
    store.put(v2);
    await ctl.idle();
    assert.equal(store.statusWrites, writes, 'no status write when nothing changed');
    assert.ok(table.types.has('stable.example.com/v2/crontabs'));
    // kcore's ResourceType.storedAs: served as v2, stored as v1.
    type StoredAs = { version: string; toStorage(o: object): { apiVersion?: string } };
    const storedAs = (table.types.get('stable.example.com/v2/crontabs') as unknown as { storedAs?: StoredAs })
      .storedAs;
    assert.equal(storedAs?.version, 'v1');
    assert.equal(
      storedAs?.toStorage({ apiVersion: 'stable.example.com/v2' }).apiVersion,
      'stable.example.com/v1',
    );

    // Delete: Terminating while custom resources remain, then the finalizer goes and the types with it.
    store.objects.set('stable.example.com/crontabs', 3);
    const deleting = structuredClone(
      store.crds.get('crontabs.stable.example.com'),
    ) as CustomResourceDefinition;
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date().toISOString() };
    assert.deepEqual(deleting.metadata.finalizers, [CLEANUP_FINALIZER]);
    store.put(deleting);
    await ctl.idle();
    assert.equal(store.crds.has('crontabs.stable.example.com'), false);
    assert.equal(store.objects.get('stable.example.com/crontabs'), 0);
    assert.equal(table.types.size, 0);
    assert.equal(
      (await catalog()).kind({ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }),
      undefined,
    );
    ctl.stop();
  });

  it('keeps a terminating CRD until objects held by finalizers are gone', async () => {
    const store = new FakeStore();
    const table = new Table();
    const ctl = new CrdController({ store, served: table });
    await ctl.start();
    store.put(created());
    await ctl.idle();
    store.objects.set('stable.example.com/crontabs', 2);
    store.held = 1;
    const deleting = structuredClone(
      store.crds.get('crontabs.stable.example.com'),
    ) as CustomResourceDefinition;
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date().toISOString() };
    store.put(deleting);
    await ctl.idle();
    const t = table.types.get('stable.example.com/v1/crontabs');
    assert.ok(t && customInfo(t)?.terminating, 'still served, refusing creates');
    const cond = store.crds
      .get('crontabs.stable.example.com')
      ?.status?.conditions?.find((c) => c.type === 'Terminating');
    assert.equal(cond?.reason, 'InstanceDeletionInProgress');
    store.held = 0;
    await new Promise((r) => setTimeout(r, 1200));
    await ctl.idle();
    assert.equal(store.crds.has('crontabs.stable.example.com'), false);
    ctl.stop();
  });

  it('does not accept names another CRD of the group holds', async () => {
    const store = new FakeStore();
    const table = new Table();
    const ctl = new CrdController({ store, served: table });
    store.put(created());
    await ctl.start();
    store.put(
      created((c) => {
        c.metadata = { name: 'crontabs.stable.example.com' };
        c.metadata.name = 'others.stable.example.com';
        c.spec.names = { plural: 'others', kind: 'CronTab' };
      }),
    );
    await ctl.idle();
    const other = store.crds.get('others.stable.example.com');
    const cond = other?.status?.conditions?.find((c) => c.type === 'NamesAccepted');
    assert.deepEqual(
      [cond?.status, cond?.reason, cond?.message],
      ['False', 'ListKindConflict', '"CronTabList" is already in use'],
    );
    assert.ok(!table.types.has('stable.example.com/v1/others'));
    ctl.stop();
  });
});

/**
 * The CRD controller's store over the in-process client: the same registry, validation and admission as HTTP
 * (status through the status subresource, finalizers through an update, custom resources deleted as a delete
 * collection would), a watch resumed from the list's resourceVersion and relisted after an ERROR (410).
 */
import type { Client, ResourceClient } from '../../client/index.js';
import { isKubeError } from '../../errors.js';
import type { ResourceType } from '../../registry/types.js';
import type { CrdStore } from './controller.js';
import type { CustomResourceDefinition } from './types.js';

export function crdStoreOver(client: Client): CrdStore {
  const crds: ResourceClient<CustomResourceDefinition> = client.resource<CustomResourceDefinition>(
    'apiextensions.k8s.io/v1',
    'customresourcedefinitions',
  );
  let listedAt = '';
  const list = async (): Promise<CustomResourceDefinition[]> => {
    const l = await crds.list();
    listedAt = l.metadata?.resourceVersion ?? '';
    return l.items;
  };
  return {
    list,
    async watch(onChange) {
      let stopped = false;
      let session: { stop(): void } | undefined;
      const follow = async (): Promise<void> => {
        const s = await crds.watch({ resourceVersion: listedAt, allowWatchBookmarks: true }, (e) => {
          if (e.type === 'BOOKMARK') listedAt = e.object.metadata?.resourceVersion ?? listedAt;
          else if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') {
            listedAt = e.object.metadata?.resourceVersion ?? listedAt;
            onChange(e.object, e.type === 'DELETED');
          }
        });
        session = s;
        void s.done.then(async () => {
          if (stopped) return;
          // Ended (timeout or 410): relist, replay everything as changes, follow again.
          for (const crd of await list()) onChange(crd, false);
          await follow();
        });
      };
      await follow();
      return {
        stop() {
          stopped = true;
          session?.stop();
        },
      };
    },
    updateStatus: (crd) => crds.updateStatus(crd),
    async removeFinalizer(crd, finalizer) {
      for (let attempt = 0; ; attempt++) {
        const current = await crds.get(crd.metadata?.name ?? '');
        const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
        try {
          await crds.update({ ...current, metadata: { ...current.metadata, finalizers } });
          return;
        } catch (e) {
          if (isKubeError(e, 'NotFound')) return;
          if (!isKubeError(e, 'Conflict') || attempt > 5) throw e;
        }
      }
    },
    async deleteAll(types: ResourceType[]) {
      // Every served version reads the same stored objects: deleting through one deletes them all.
      const t = types[0];
      if (!t) return 0;
      const rc = client.resource(t.group ? `${t.group}/${t.version}` : t.version, t.plural);
      await rc.deleteCollection({ delete: { propagationPolicy: 'Background' } });
      return (await rc.list()).items.length;
    },
  };
}

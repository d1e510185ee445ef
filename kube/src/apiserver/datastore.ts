/**
 * Opens the cluster's store from --datastore-endpoint: `memory://` (throwaway: tests, benchmarks), otherwise the
 * store workspace's openStore (embedded SQLite in the data dir by default, etcd for http(s):// endpoints).
 */
import type { Logger } from '../log.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';

export interface DatastoreOptions {
  endpoint?: string;
  dataDir: string;
  log: Logger;
}

type OpenStore = (o: { dataDir: string; endpoint?: string; log: Logger }) => Promise<Store>;

export async function openDatastore(o: DatastoreOptions): Promise<Store> {
  if (o.endpoint?.startsWith('memory:')) return new MemoryStore();
  // Resolved at run time: the durable backends live in ../store (their own workspace folder).
  const modulePath = '../store/index.js';
  let mod: { openStore?: OpenStore };
  try {
    mod = (await import(modulePath)) as { openStore?: OpenStore };
  } catch (e) {
    throw new Error(
      `no durable datastore is available (${(e as Error).message}); use --datastore-endpoint memory://`,
    );
  }
  if (!mod.openStore) throw new Error('the store module has no openStore');
  return mod.openStore({ dataDir: o.dataDir, ...(o.endpoint ? { endpoint: o.endpoint } : {}), log: o.log });
}

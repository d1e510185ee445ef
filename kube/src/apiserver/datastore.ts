/**
 * Opens the cluster's store from --datastore-endpoint: `memory://` (throwaway: tests, benchmarks), otherwise the
 * store workspace's openStore (embedded SQLite in the data dir by default, etcd for http(s):// endpoints). The
 * durable backends load only when used, so a memory:// server never loads a SQLite binding.
 */
import type { Logger } from '../log.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';

export interface DatastoreOptions {
  endpoint?: string;
  dataDir: string;
  log: Logger;
}

export async function openDatastore(o: DatastoreOptions): Promise<Store> {
  if (o.endpoint?.startsWith('memory:')) return new MemoryStore();
  const { openStore } = await import('../store/index.js');
  return openStore({ dataDir: o.dataDir, ...(o.endpoint ? { endpoint: o.endpoint } : {}), log: o.log });
}

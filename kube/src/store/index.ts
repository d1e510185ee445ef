/**
 * The cluster store's factory: embedded SQLite in `<dataDir>/state.db` by default, or a real etcd v3 when
 * `--datastore-endpoint http://HOST:PORT` is given. Either way compaction runs periodically here, as
 * kube-apiserver runs it against etcd.
 */
import type { Logger } from '@berth/common/log';
import { startCompactor, DEFAULT_COMPACTION, type CompactionPolicy } from './compactor.js';
import { EtcdStore } from './etcd/store.js';
import type { BindingName } from './sqlite/binding.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

export interface OpenStoreOptions {
  dataDir: string;
  /** `http://HOST:PORT` of an etcd v3 (its JSON gateway); absent: SQLite. */
  endpoint?: string;
  log: Logger;
  /** Periodic compaction (false: none; tests compact by hand). */
  compaction?: CompactionPolicy | false;
  /** SQLite: how often idle watchers get a progress event. etcd sets its own (its progress-notify interval). */
  progressIntervalMs?: number;
  /** SQLite: force a binding (default: node:sqlite on Node 22+, better-sqlite3 on Node 20). */
  binding?: BindingName;
}

export async function openStore(o: OpenStoreOptions): Promise<Store> {
  const log = o.log.child({ component: 'store' });
  const store: Store = o.endpoint
    ? await EtcdStore.open({ endpoint: o.endpoint, log })
    : await SqliteStore.open({
        dataDir: o.dataDir,
        log,
        ...(o.binding ? { binding: o.binding } : {}),
        ...(o.progressIntervalMs !== undefined ? { progressIntervalMs: o.progressIntervalMs } : {}),
      });
  if (o.compaction === false) return store;
  const compactor = startCompactor(store, log, o.compaction ?? DEFAULT_COMPACTION);
  const close = store.close.bind(store);
  store.close = async () => {
    compactor.stop();
    await close();
  };
  return store;
}

/**
 * The shared store suite on a real etcd v3 (Debian's etcd-server 3.4) through its JSON gateway: this file starts
 * its own etcd on ports 17200/17201 with its own data dir, kill -9s and restarts it in the crash test, and stops
 * and deletes it at the end. Outside CI a host without etcd skips, saying so; under CI it fails.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLogger, setLogLevel } from '@berth/common/log';
import { isKubeError } from '../src/errors.js';
import { openStore } from '../src/store/index.js';
import { haveEtcd, startEtcd, type EtcdServer } from './helpers/etcd.js';
import { rejectsWith, runStoreSuite } from './store-suite.js';

setLogLevel('warn');
const log = createLogger({ test: 'store-etcd' });
const IN_CI = process.env.CI === 'true';

if (!haveEtcd()) {
  if (IN_CI) throw new Error('required under CI: etcd (/usr/bin/etcd, Debian etcd-server)');
  it('etcd store suite', { skip: 'no /usr/bin/etcd (Debian etcd-server)' }, () => undefined);
} else {
  let etcd: EtcdServer;
  let dataDir = '';
  before(async () => {
    etcd = await startEtcd({ clientPort: 17200, peerPort: 17201 });
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-store-etcd-'));
  });
  after(async () => {
    await etcd?.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  });

  runStoreSuite('etcd', {
    setup: async () => undefined,
    open: () => openStore({ dataDir, endpoint: etcd.endpoint, log, compaction: false }),
    childOptions: () => ({ dataDir, endpoint: etcd.endpoint }),
    crashBackend: () => etcd.crashAndRestart(),
    teardown: async () => undefined,
  });

  describe('etcd store specifics', () => {
    it('lays keys out as kube-apiserver does, readable by etcdctl', async () => {
      const store = await openStore({ dataDir, endpoint: etcd.endpoint, log, compaction: false });
      try {
        const cm = JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x', namespace: 'default' },
        });
        const kv = await store.create('/registry/configmaps/default/x', cm);
        await store.create('/registry/namespaces/default', '{"kind":"Namespace"}');
        const etcdctl = (...args: string[]) =>
          promisify(execFile)('etcdctl', [`--endpoints=${etcd.endpoint}`, ...args], {
            env: { ...process.env, ETCDCTL_API: '3' },
          });
        const got = await etcdctl('get', '/registry/configmaps/default/x', '--write-out=json');
        const parsed = JSON.parse(got.stdout) as {
          kvs: { key: string; value: string; mod_revision: number }[];
        };
        assert.equal(Buffer.from(parsed.kvs[0].value, 'base64').toString(), cm);
        assert.equal(parsed.kvs[0].mod_revision, kv.modRevision, "resourceVersion is etcd's mod_revision");
        const keys = await etcdctl('get', '/registry/', '--prefix', '--keys-only');
        assert.match(keys.stdout, /^\/registry\/namespaces\/default$/m);
      } finally {
        await store.close();
      }
    });

    it('ends a watch with ServiceUnavailable when etcd goes away, and works again once it is back', async () => {
      const store = await openStore({ dataDir, endpoint: etcd.endpoint, log, compaction: false });
      try {
        const ended = new Promise<Error>((resolve) => {
          void store.watch('/registry/lost/', 0, { onEvent: () => undefined, onError: resolve });
        });
        await etcd.crashAndRestart();
        const err = await ended;
        assert.ok(isKubeError(err, 'ServiceUnavailable'), err.message);
        const kv = await store.create('/registry/lost/after', '{}');
        assert.equal((await store.get('/registry/lost/after'))?.modRevision, kv.modRevision);
      } finally {
        await store.close();
      }
    });

    it('answers ServiceUnavailable when etcd is not there', async () => {
      await rejectsWith(
        openStore({ dataDir: os.tmpdir(), endpoint: 'http://127.0.0.1:17209', log, compaction: false }),
        'ServiceUnavailable',
      );
      await assert.rejects(
        openStore({ dataDir: os.tmpdir(), endpoint: 'https://127.0.0.1:17209', log, compaction: false }),
        /must be http/,
      );
    });
  });
}

/**
 * The service proxy's nftables rules in the real kernel, with real connections from the host (the output hook
 * DNATs them as it does for pods in prerouting): a cluster IP spread over its ready endpoints only, ClientIP
 * affinity, a service without ready endpoints refused at once, the rules replaced whole by a new proxier (a
 * restarted berth-kube) and nothing left in nftables after delete. Endpoints are HTTP servers on 127.0.0.x
 * (all of 127/8 is local), so no pod is needed. Table and addresses are this test's own (knet, 10.219/16).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger, setLogLevel } from '@berth/common/log';
import { listTable } from '../src/proxy/nft.js';
import { Proxier } from '../src/proxy/proxier.js';
import type { KubeObject } from '../src/registry/types.js';
import { addressServers, clusterIPService, getBody, nftSkipReason } from './helpers/proxy.js';

setLogLevel('warn');
const log = createLogger({ test: 'proxy' });
const TABLE = `knet-proxy-${process.pid}`;
const BACKENDS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const PORT = 18210;

const service = clusterIPService('knet-proxy');
const slice = (svc: string, eps: Array<[string, boolean]>): KubeObject => ({
  metadata: { namespace: 'knet-proxy', name: `${svc}-x`, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: eps.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
  ports: [{ name: 'http', protocol: 'TCP', port: PORT }],
});

const get = (ip: string, port = 80) => getBody(ip, port);

describe('service proxy (nftables)', { skip: nftSkipReason() }, () => {
  const servers: http.Server[] = [];
  let proxier: Proxier;

  before(async () => {
    servers.push(...(await addressServers(BACKENDS, PORT)));
    proxier = new Proxier({ table: TABLE, podCIDR: '10.218.0.0/16', log });
  });

  after(async () => {
    await proxier.deleteRules().catch(() => undefined);
    for (const s of servers) s.close();
  });

  it('spreads a cluster IP over the ready endpoints only', async () => {
    proxier.model.setService(service('web', '10.219.0.10'));
    proxier.model.setEndpointSlice(
      slice('web', [
        ['127.0.0.2', true],
        ['127.0.0.3', true],
        ['127.0.0.4', false],
      ]),
    );
    await proxier.sync();
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const who = await get('10.219.0.10');
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['127.0.0.2', '127.0.0.3']);
  });

  it('takes a pod that becomes not ready out of the rotation', async () => {
    proxier.model.setEndpointSlice(
      slice('web', [
        ['127.0.0.2', false],
        ['127.0.0.3', true],
        ['127.0.0.4', false],
      ]),
    );
    await proxier.sync();
    for (let i = 0; i < 10; i++) assert.equal(await get('10.219.0.10'), '127.0.0.3');
  });

  it('keeps a client on one endpoint with sessionAffinity ClientIP', async () => {
    proxier.model.setService(service('sticky', '10.219.0.11', { sessionAffinity: 'ClientIP' }));
    proxier.model.setEndpointSlice(
      slice(
        'sticky',
        BACKENDS.map((ip) => [ip, true]),
      ),
    );
    await proxier.sync();
    const first = await get('10.219.0.11');
    for (let i = 0; i < 15; i++) assert.equal(await get('10.219.0.11'), first);
  });

  it('refuses a service without ready endpoints at once', async () => {
    proxier.model.setService(service('empty', '10.219.0.12'));
    proxier.model.setEndpointSlice(slice('empty', [['127.0.0.2', false]]));
    await proxier.sync();
    const t0 = Date.now();
    await assert.rejects(get('10.219.0.12'), { code: 'ECONNREFUSED' });
    assert.ok(Date.now() - t0 < 1000);
  });

  it('is replaced whole by a new proxier (a restarted berth-kube), and a deleted service leaves no rule', async () => {
    const restarted = new Proxier({ table: TABLE, podCIDR: '10.218.0.0/16', log });
    restarted.model.setService(service('web', '10.219.0.10'));
    restarted.model.setEndpointSlice(slice('web', [['127.0.0.4', true]]));
    await restarted.sync();
    assert.equal(await get('10.219.0.10'), '127.0.0.4');
    const rules = (await listTable(TABLE)) ?? '';
    assert.ok(rules.includes('knet-proxy/web/tcp/http'));
    assert.ok(!rules.includes('knet-proxy/sticky/tcp/http'), 'sticky is not in the new model');
    restarted.model.deleteService(service('web', '10.219.0.10'));
    await restarted.sync();
    assert.ok(!((await listTable(TABLE)) ?? '').includes('knet-proxy/web'));
    await restarted.deleteRules();
    assert.equal(await listTable(TABLE), undefined);
  });
});

/** The API server over HTTPS, in process: authentication, discovery, CRUD semantics and the exact error Statuses. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.stop();
});

const cm = (name: string, data: Record<string, string> = { a: '1' }, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

describe('authentication and public paths', () => {
  it('answers /version, /healthz, /livez, /readyz to anyone, verbose too', async () => {
    const v = await s.request('GET', '/version', { as: 'none' });
    assert.equal(v.status, 200);
    assert.equal(v.json().minor, '32');
    assert.match(String(v.json().gitVersion), /^v1\.32\.\d+\+berth$/);
    for (const p of ['/healthz', '/livez', '/readyz']) {
      const r = await s.request('GET', p, { as: 'none' });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ok');
    }
    const verbose = await s.request('GET', '/readyz?verbose', { as: 'none' });
    assert.match(verbose.text, /\[\+\]etcd ok\n/);
    assert.match(verbose.text, /readyz check passed\n$/);
  });

  it('forbids anonymous requests elsewhere with 403', async () => {
    const r = await s.request('GET', '/api/v1/namespaces/default/pods', { as: 'none' });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    const api = await s.request('GET', '/api', { as: 'none' });
    assert.equal(api.status, 403);
    assert.equal(api.json().message, 'forbidden: User "system:anonymous" cannot get path "/api"');
  });

  it('answers 401 to a certificate the cluster CA did not sign', async () => {
    const { createCertificate, newKey, keyPem } = await import('../src/apiserver/pki/certs.js');
    const key = newKey();
    const certPem = createCertificate({
      cn: 'mallory',
      orgs: ['system:masters'],
      client: true,
      days: 1,
      key,
    });
    const r = await s.request('GET', '/api/v1/namespaces', { as: { certPem, keyPem: keyPem(key) } });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('answers 401 to an unknown bearer token', async () => {
    const r = await s.request('GET', '/api', { as: 'none', headers: { Authorization: 'Bearer nope' } });
    assert.equal(r.status, 401);
  });

  it('lets a CA-signed non-admin user discover but not read resources', async () => {
    const pair = s.pki.issueClient('jane', ['dev']);
    assert.equal((await s.request('GET', '/apis', { as: pair })).status, 200);
    const r = await s.request('GET', '/api/v1/nodes/n1', { as: pair });
    assert.equal(r.status, 403);
    assert.equal(
      r.json().message,
      'nodes "n1" is forbidden: User "jane" cannot get resource "nodes" in API group "" at the cluster scope',
    );
  });
});

describe('discovery', () => {
  it('serves aggregated discovery only when asked, with g/v/as in the Content-Type', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const r = await s.request('GET', '/apis', { headers: { Accept: accept } });
    assert.equal(
      r.headers['content-type'],
      'application/json;as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2',
    );
    const apps = r
      .json<{
        items: Array<{
          metadata: { name: string };
          versions: Array<{ resources: Array<Record<string, unknown>> }>;
        }>;
      }>()
      .items.find((i) => i.metadata.name === 'apps')!;
    const deploy = apps.versions[0].resources.find((x) => x.resource === 'deployments')!;
    assert.deepEqual(deploy.shortNames, ['deploy']);
    assert.deepEqual(deploy.categories, ['all']);
    assert.deepEqual(
      (deploy.subresources as Array<Record<string, unknown>>).find((x) => x.subresource === 'scale'),
      {
        subresource: 'scale',
        responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        verbs: ['get', 'patch', 'update'],
      },
    );
    const plain = await s.request('GET', '/apis');
    assert.equal(plain.headers['content-type'], 'application/json');
    assert.equal(plain.json().kind, 'APIGroupList');
  });

  it('lists each group-version with verbs, short names and subresources', async () => {
    const r = await s.request('GET', '/api/v1');
    const res = r.json<{ resources: Array<Record<string, unknown>> }>().resources;
    const pods = res.find((x) => x.name === 'pods')!;
    assert.deepEqual(pods.verbs, [
      'create',
      'delete',
      'deletecollection',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
    assert.deepEqual(pods.shortNames, ['po']);
    assert.ok(res.find((x) => x.name === 'pods/exec'));
    assert.deepEqual(res.find((x) => x.name === 'namespaces')!.verbs, [
      'create',
      'delete',
      'get',
      'list',
      'patch',
      'update',
      'watch',
    ]);
    assert.equal((await s.request('GET', '/apis/nope.example.com/v1')).status, 404);
  });
});

describe('objects', () => {
  it('creates with uid, timestamp, resourceVersion; gets; lists with selectors', async () => {
    const c = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('one', { a: '1' }, { app: 'x' }),
    });
    assert.equal(c.status, 201, c.text);
    const m = c.json<{ metadata: Record<string, string> }>().metadata;
    assert.match(m.uid, /^[0-9a-f-]{36}$/);
    assert.match(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Number(m.resourceVersion) > 0);
    await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('two', { b: '2' }, { app: 'y' }),
    });
    const l = await s.request('GET', '/api/v1/namespaces/default/configmaps?labelSelector=app%20in%20(x)');
    assert.deepEqual(
      l.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((i) => i.metadata.name),
      ['one'],
    );
    const f = await s.request(
      'GET',
      '/api/v1/configmaps?fieldSelector=metadata.name!%3Done,metadata.namespace%3Ddefault',
    );
    assert.deepEqual(
      f.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((i) => i.metadata.name),
      ['two'],
    );
    const bad = await s.request('GET', '/api/v1/configmaps?fieldSelector=spec.nodeName%3Dx');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().message, 'field label not supported: spec.nodeName');
  });

  it('refuses stale updates with 409 and kube-apiserver wording', async () => {
    const c = (await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('cas') })).json<{
      metadata: { resourceVersion: string };
    }>();
    const rv = c.metadata.resourceVersion;
    const u1 = await s.request('PUT', '/api/v1/namespaces/default/configmaps/cas', {
      body: { ...cm('cas', { a: '2' }), metadata: { name: 'cas', resourceVersion: rv } },
    });
    assert.equal(u1.status, 200, u1.text);
    const u2 = await s.request('PUT', '/api/v1/namespaces/default/configmaps/cas', {
      body: { ...cm('cas', { a: '3' }), metadata: { name: 'cas', resourceVersion: rv } },
    });
    assert.equal(u2.status, 409);
    assert.equal(u2.json().reason, 'Conflict');
    assert.equal(
      u2.json().message,
      'Operation cannot be fulfilled on configmaps "cas": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('rejects invalid names with the DNS-1123 message', async () => {
    const r = await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('Bad_Name') });
    assert.equal(r.status, 422);
    assert.equal(
      r.json().message,
      `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
    assert.equal((r.json().details as { causes: Array<{ field: string }> }).causes[0].field, 'metadata.name');
  });

  it('refuses ConfigMaps over 1 MiB (422) and bodies over 3 MiB (413)', async () => {
    const big = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('big', { a: 'x'.repeat(1024 * 1024 + 1) }),
    });
    assert.equal(big.status, 422);
    assert.equal(
      big.json().message,
      'ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes',
    );
    const huge = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('huge', { a: 'x'.repeat(3 * 1024 * 1024) }),
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.json().message, 'Request entity too large: limit is 3145728');
    assert.equal(huge.json().reason, 'RequestEntityTooLarge');
  });

  it('answers malformed JSON, YAML and the wrong kind with 400', async () => {
    const j = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: '{"apiVersion": "v1", "kind": ',
    });
    assert.equal(j.status, 400);
    assert.match(
      String(j.json().message),
      /^the object provided is unrecognized \(must be of type ConfigMap\): couldn't get version\/kind; json parse error: /,
    );
    const y = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: 'kind: ConfigMap\n  bad: [',
      headers: { 'Content-Type': 'application/yaml' },
    });
    assert.equal(y.status, 400);
    const k = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } },
    });
    assert.equal(k.status, 400);
    assert.equal(
      k.json().message,
      'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion',
    );
    const v = await s.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      body: { apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'd' } },
    });
    assert.equal(v.status, 400);
  });

  it('needs the namespace to exist and protects the system namespaces', async () => {
    const r = await s.request('POST', '/api/v1/namespaces/ghost/configmaps', { body: cm('x') });
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'namespaces "ghost" not found');
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      const d = await s.request('DELETE', `/api/v1/namespaces/${ns}`);
      assert.equal(d.status, 403);
      assert.equal(d.json().message, `namespaces "${ns}" is forbidden: this namespace may not be deleted`);
    }
  });

  it('honours dryRun=All and generateName', async () => {
    const d = await s.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      body: cm('dry'),
    });
    assert.equal(d.status, 201);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
    const g = await s.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: { ...cm(''), metadata: { generateName: 'gen-' } },
    });
    assert.match(g.json<{ metadata: { name: string } }>().metadata.name, /^gen-[a-z0-9]{5}$/);
  });

  it('serves Tables and PartialObjectMetadata', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const t = await s.request('GET', '/api/v1/namespaces', { headers: { Accept: accept } });
    const table = t.json<{
      kind: string;
      columnDefinitions: Array<{ name: string }>;
      rows: Array<{ cells: unknown[]; object: { kind: string } }>;
    }>();
    assert.equal(table.kind, 'Table');
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Status', 'Age'],
    );
    assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
    assert.equal(table.rows.find((r) => r.cells[0] === 'default')!.cells[1], 'Active');
    const p = await s.request('GET', '/api/v1/namespaces', {
      headers: { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' },
    });
    assert.equal(p.json().kind, 'PartialObjectMetadataList');
    const only = await s.request('GET', '/api/v1/namespaces', {
      headers: { Accept: 'application/vnd.kubernetes.protobuf' },
    });
    assert.equal(only.status, 406);
    const pf = await s.request('GET', '/api/v1/namespaces/default', {
      headers: { Accept: 'application/vnd.kubernetes.protobuf,application/json' },
    });
    assert.equal(pf.status, 200);
    assert.equal(pf.json().kind, 'Namespace');
  });

  it('pages lists with limit/continue and expires compacted tokens with 410', async () => {
    for (let i = 0; i < 5; i++)
      await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(`page-${i}`) });
    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await s.request(
        'GET',
        `/api/v1/namespaces/default/configmaps?labelSelector=&limit=2${cont ? `&continue=${cont}` : ''}`,
      );
      const body = r.json<{
        metadata: { continue?: string };
        items: Array<{ metadata: { name: string } }>;
      }>();
      names.push(...body.items.map((i) => i.metadata.name));
      cont = body.metadata.continue ?? '';
      pages++;
    } while (cont);
    assert.ok(pages >= 3);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('page-4'));
    const first = (await s.request('GET', '/api/v1/namespaces/default/configmaps?limit=1')).json<{
      metadata: { continue: string };
    }>();
    await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('after-page') });
    await s.store.compact(await s.store.revision());
    const r = await s.request(
      'GET',
      `/api/v1/namespaces/default/configmaps?limit=1&continue=${first.metadata.continue}`,
    );
    assert.equal(r.status, 410);
    assert.equal(r.json().reason, 'Expired');
  });
});

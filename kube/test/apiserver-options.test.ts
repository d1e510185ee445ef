/**
 * Request options and bad input over HTTPS, each answered with kube-apiserver 1.32's exact Status (read from
 * k8s.io/apiserver's handlers and storage): PatchOptions/CreateOptions/DeleteOptions/ListOptions validation,
 * plain Go errors as reason-less 500s, continue tokens, dryRun, deletecollection, watch-list and watch Tables.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type Reply, type TestServer } from './helpers/apiserver.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.stop();
});

const CMS = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { a: '1' },
});
const create = async (name: string, labels: Record<string, string> = {}) => {
  const r = await s.request('POST', CMS, { body: cm(name, labels) });
  assert.equal(r.status, 201, r.text);
  return r.json<{ metadata: { resourceVersion: string; uid: string } }>();
};
const names = (r: Reply) =>
  r.json<{ items: Array<{ metadata: { name: string } }> }>().items.map((i) => i.metadata.name);

/** The Status of a failed request: code, reason (absent for plain errors), message. */
function status(r: Reply, code: number, reason: string | undefined, message: string | RegExp): void {
  assert.equal(r.status, code, r.text);
  const st = r.json<{ kind: string; code: number; reason?: string; message: string }>();
  assert.equal(st.kind, 'Status');
  assert.equal(st.code, code);
  assert.equal(st.reason, reason);
  if (typeof message === 'string') assert.equal(st.message, message);
  else assert.match(st.message, message);
}

/** Reads a watch stream's events until `until` says stop or the server ends it. */
function watch(
  path: string,
  until: (events: Array<{ type: string; object: Record<string, unknown> }>) => boolean,
  headers: Record<string, string> = {},
): Promise<{ status: number; events: Array<{ type: string; object: Record<string, unknown> }> }> {
  return new Promise((resolve, reject) => {
    const events: Array<{ type: string; object: Record<string, unknown> }> = [];
    const req = https.get(
      {
        host: '127.0.0.1',
        port: s.port,
        path,
        ca: s.pki.caPem,
        cert: s.pki.admin.certPem,
        key: s.pki.admin.keyPem,
        headers,
      },
      (res) => {
        let buf = '';
        const done = () => resolve({ status: res.statusCode ?? 0, events });
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)) as (typeof events)[number]);
            buf = buf.slice(nl + 1);
          }
          if (until(events)) {
            req.destroy();
            done();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
  });
}

describe('write options', () => {
  it('validates PatchOptions with one 422 on PatchOptions.meta.k8s.io', async () => {
    await create('patched');
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    const f = await s.request('PATCH', `${CMS}/patched?force=true`, { body: {}, headers: merge });
    status(
      f,
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    assert.deepEqual(f.json().details, {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [
        {
          reason: 'FieldValueForbidden',
          message: 'Forbidden: may not be specified for non-apply patch',
          field: 'force',
        },
      ],
    });
    // Any value of force counts (a *bool that is set).
    status(
      await s.request('PATCH', `${CMS}/patched?force=false`, { body: {}, headers: merge }),
      422,
      'Invalid',
      /force: Forbidden/,
    );
    const apply = { 'Content-Type': 'application/apply-patch+yaml' };
    status(
      await s.request('PATCH', `${CMS}/patched`, { body: cm('patched'), headers: apply }),
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    status(
      await s.request('PATCH', `${CMS}/patched?dryRun=Some&fieldValidation=Loose`, {
        body: cm('patched'),
        headers: apply,
      }),
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: [fieldManager: Required value: is required for apply patch, dryRun: Unsupported value: []string{"Some"}: supported values: "All", fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"]',
    );
  });

  it('validates CreateOptions (fieldManager, dryRun, fieldValidation) in one 422', async () => {
    const r = await s.request('POST', `${CMS}?fieldManager=${'m'.repeat(129)}&dryRun=Never`, {
      body: cm('opts'),
    });
    status(
      r,
      422,
      'Invalid',
      'CreateOptions.meta.k8s.io "" is invalid: [fieldManager: Too long: may not be more than 128 bytes, dryRun: Unsupported value: []string{"Never"}: supported values: "All"]',
    );
  });

  it('answers a resourceVersion on create as the storage layer does: a 500 without reason', async () => {
    const r = await s.request('POST', CMS, {
      body: { ...cm('with-rv'), metadata: { name: 'with-rv', resourceVersion: '5' } },
    });
    status(r, 500, undefined, 'resourceVersion should not be set on objects to be created');
    assert.equal((await s.request('GET', `${CMS}/with-rv`)).status, 404);
  });

  it('runs dry runs through every step without storing (no resourceVersion for a create)', async () => {
    const c = await s.request('POST', `${CMS}?dryRun=All`, { body: cm('dry') });
    assert.equal(c.status, 201);
    const meta = c.json<{ metadata: Record<string, unknown> }>().metadata;
    assert.match(String(meta.uid), /^[0-9a-f-]{36}$/);
    assert.equal(meta.resourceVersion, undefined);
    assert.equal((await s.request('GET', `${CMS}/dry`)).status, 404);
    const live = await create('dry-live');
    const u = await s.request('PUT', `${CMS}/dry-live?dryRun=All`, {
      body: { ...cm('dry-live'), data: { a: 'changed' } },
    });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json<{ data: { a: string } }>().data.a, 'changed');
    const p = await s.request('PATCH', `${CMS}/dry-live?dryRun=All`, {
      body: { data: { b: '2' } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    assert.deepEqual(p.json<{ data: unknown }>().data, { a: '1', b: '2' });
    const d = await s.request('DELETE', `${CMS}/dry-live?dryRun=All`);
    assert.equal(d.status, 200);
    const after = (await s.request('GET', `${CMS}/dry-live`)).json<{
      data: unknown;
      metadata: { resourceVersion: string };
    }>();
    assert.deepEqual(after.data, { a: '1' });
    assert.equal(after.metadata.resourceVersion, live.metadata.resourceVersion);
    // A dry run still validates.
    status(
      await s.request('POST', `${CMS}?dryRun=All`, { body: cm('Not_A_Name') }),
      422,
      'Invalid',
      /^ConfigMap "Not_A_Name" is invalid: metadata\.name/,
    );
  });
});

describe('delete options', () => {
  it('reads DeleteOptions from the body or else the query, and validates them in one 422', async () => {
    await create('del');
    const bad = await s.request('DELETE', `${CMS}/del`, { body: '{"propagationPolicy": ' });
    status(bad, 500, undefined, "couldn't get version/kind; json parse error: unexpected end of JSON input");
    status(
      await s.request('DELETE', `${CMS}/del?propagationPolicy=Sideways&orphanDependents=true&dryRun=x`),
      422,
      'Invalid',
      'DeleteOptions.meta.k8s.io "" is invalid: [propagationPolicy: Invalid value: "Sideways": orphanDependents and deletionPropagation cannot be both set, propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil", dryRun: Unsupported value: []string{"x"}: supported values: "All"]',
    );
    // With a body, the query is not read: its bad policy does not matter.
    const ok = await s.request('DELETE', `${CMS}/del?propagationPolicy=Sideways`, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json().details, {
      name: 'del',
      kind: 'configmaps',
      uid: ok.json<{ details: { uid: string } }>().details.uid,
    });
  });

  it('deletes a collection and answers with the list as it was read', async () => {
    for (const n of ['dc-1', 'dc-2', 'dc-3']) await create(n, { batch: n === 'dc-3' ? 'no' : 'yes' });
    const dry = await s.request('DELETE', `${CMS}?labelSelector=batch%3Dyes&dryRun=All`);
    assert.deepEqual(names(dry), ['dc-1', 'dc-2']);
    assert.deepEqual(names(await s.request('GET', `${CMS}?labelSelector=batch`)), ['dc-1', 'dc-2', 'dc-3']);
    const r = await s.request('DELETE', `${CMS}?labelSelector=batch%3Dyes`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().kind, 'ConfigMapList');
    assert.deepEqual(names(r), ['dc-1', 'dc-2']);
    assert.deepEqual(names(await s.request('GET', `${CMS}?labelSelector=batch`)), ['dc-3']);
    status(
      await s.request('DELETE', `${CMS}?resourceVersionMatch=Exact`),
      422,
      'Invalid',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    status(
      await s.request('DELETE', '/api/v1/namespaces'),
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  });
});

describe('list options', () => {
  it('answers bad parameters as the parameter codec and the storage layer do', async () => {
    status(
      await s.request('GET', `${CMS}?limit=ten`),
      400,
      'BadRequest',
      'strconv.ParseInt: parsing "ten": invalid syntax',
    );
    status(
      await s.request('GET', `${CMS}?resourceVersion=abc`),
      500,
      undefined,
      'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
    );
    status(
      await s.request('GET', `${CMS}?resourceVersion=abc&limit=5`),
      400,
      'BadRequest',
      'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
    );
    status(
      await s.request('GET', `${CMS}?sendInitialEvents=true`),
      422,
      'Invalid',
      'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
    );
    status(
      await s.request('GET', `${CMS}?includeObject=All`, {
        headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
      }),
      400,
      'BadRequest',
      "Unable to convert to Table as requested: includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty",
    );
  });

  it('refuses malformed continue tokens with storage.DecodeContinue messages', async () => {
    const token = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const cases: Array<[string, string]> = [
      ['a$b', 'illegal base64 data at input byte 1'],
      ['abcde', 'illegal base64 data at input byte 4'],
      [Buffer.from('{"v":').toString('base64url'), 'unexpected end of JSON input'],
      [
        token({ v: 'meta.k8s.io/v2', rv: 1, start: 'x' }),
        'server does not recognize this encoded version meta.k8s.io/v2',
      ],
      [
        token({ v: 'meta.k8s.io/v1', rv: 0, start: 'x' }),
        'incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      ],
      [token({ v: 'meta.k8s.io/v1', rv: 1, start: '' }), 'encoded start key empty (version meta.k8s.io/v1)'],
      [token({ v: 'meta.k8s.io/v1', rv: 1, start: '../secrets/x' }), '../secrets/x'],
      [
        token({ v: 'meta.k8s.io/v1', rv: 'one', start: 'x' }),
        'json: cannot unmarshal string into Go struct field continueToken.rv of type int64',
      ],
    ];
    for (const [t, why] of cases)
      status(
        await s.request('GET', `${CMS}?limit=1&continue=${t}`),
        400,
        'BadRequest',
        `invalid continue token: continue key is not valid: ${why}`,
      );
    const page = (await s.request('GET', `${CMS}?limit=1`)).json<{ metadata: { continue: string } }>();
    status(
      await s.request('GET', `${CMS}?limit=1&resourceVersion=5&continue=${page.metadata.continue}`),
      400,
      'BadRequest',
      'specifying resource version is not allowed when using continue',
    );
  });

  it('serves resourceVersion=0 whole (the limit is ignored, as from the watch cache)', async () => {
    for (const n of ['zero-1', 'zero-2', 'zero-3']) await create(n, { zero: 'yes' });
    const r = await s.request('GET', `${CMS}?labelSelector=zero&limit=1&resourceVersion=0`);
    assert.deepEqual(names(r), ['zero-1', 'zero-2', 'zero-3']);
    assert.equal(r.json<{ metadata: { continue?: string } }>().metadata.continue, undefined);
  });

  it('answers an expired continue token with 410 and a token to list the rest inconsistently', async () => {
    for (const n of ['exp-1', 'exp-2', 'exp-3']) await create(n, { exp: 'yes' });
    const first = await s.request('GET', `${CMS}?labelSelector=exp&limit=1`);
    assert.deepEqual(names(first), ['exp-1']);
    const token = first.json<{ metadata: { continue: string } }>().metadata.continue;
    await s.request('DELETE', `${CMS}/exp-3`);
    await create('exp-4', { exp: 'yes' });
    await s.store.compact(await s.store.revision());
    const gone = await s.request('GET', `${CMS}?labelSelector=exp&limit=1&continue=${token}`);
    status(
      gone,
      410,
      'Expired',
      /^The provided continue parameter is too old to display a consistent list result\. You can start a new list without the continue parameter, or use the continue token in this response/,
    );
    const fresh = gone.json<{ metadata: { continue: string } }>().metadata.continue;
    assert.ok(fresh);
    const rest = await s.request('GET', `${CMS}?labelSelector=exp&limit=10&continue=${fresh}`);
    assert.equal(rest.status, 200, rest.text);
    // The remainder at the latest revision: exp-3 went, exp-4 came.
    assert.deepEqual(names(rest), ['exp-2', 'exp-4']);
  });
});

describe('watch options', () => {
  it('refuses resourceVersionMatch without sendInitialEvents and bad resourceVersions', async () => {
    status(
      await s.request('GET', `${CMS}?watch=true&resourceVersion=1&resourceVersionMatch=Exact`),
      422,
      'Invalid',
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    );
    status(
      await s.request('GET', `${CMS}?watch=1&resourceVersion=-3`),
      500,
      undefined,
      'resourceVersion: Invalid value: "-3": strconv.ParseUint: parsing "-3": invalid syntax',
    );
    status(
      await s.request('GET', `/api/v1/watch/namespaces/default/configmaps/a?fieldSelector=metadata.name%3Db`),
      400,
      'BadRequest',
      "fieldSelector metadata.name doesn't match requested name",
    );
  });

  it('streams the initial state then an initial-events-end bookmark (watch-list)', async () => {
    for (const n of ['wl-1', 'wl-2']) await create(n, { wl: 'yes' });
    const { status: code, events } = await watch(
      `${CMS}?watch=true&labelSelector=wl&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
      (ev) => ev.some((e) => e.type === 'BOOKMARK'),
    );
    assert.equal(code, 200);
    assert.deepEqual(
      events.map((e) => [e.type, (e.object.metadata as { name?: string }).name ?? '']),
      [
        ['ADDED', 'wl-1'],
        ['ADDED', 'wl-2'],
        ['BOOKMARK', ''],
      ],
    );
    const bookmark = events[2].object.metadata as {
      annotations: Record<string, string>;
      resourceVersion: string;
    };
    assert.deepEqual(bookmark.annotations, { 'k8s.io/initial-events-end': 'true' });
    assert.ok(Number(bookmark.resourceVersion) > 0);
  });

  it('sends Tables with column definitions on the first event only, and ends at timeoutSeconds', async () => {
    await create('tw-1', { tw: 'yes' });
    await create('tw-2', { tw: 'yes' });
    const started = Date.now();
    const { events } = await watch(`${CMS}?watch=true&labelSelector=tw&timeoutSeconds=1`, () => false, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    assert.ok(Date.now() - started < 5000);
    assert.equal(events.length, 2);
    const [a, b] = events.map(
      (e) => e.object as { kind: string; columnDefinitions: unknown[] | null; rows: unknown[] },
    );
    assert.equal(a.kind, 'Table');
    assert.ok(Array.isArray(a.columnDefinitions) && a.columnDefinitions.length === 3);
    assert.equal(b.columnDefinitions, null);
    assert.equal(b.rows.length, 1);
  });

  it('answers a named GET with ?watch=true as a get', async () => {
    await create('named');
    const r = await s.request('GET', `${CMS}/named?watch=true`);
    assert.equal(r.status, 200);
    assert.equal(r.json().kind, 'ConfigMap');
  });
});

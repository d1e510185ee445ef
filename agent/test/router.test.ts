/** Router matching and version-prefix handling. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from '../src/api/router.js';
import { resolvePath } from '../src/api/server.js';
import { parseFilters } from '../src/api/http.js';
import { statusOf } from '../src/api/errors.js';

describe('Router', () => {
  const noop = () => undefined;
  const r = new Router()
    .get('/images/json', noop)
    .get('/images/{name*}/json', noop)
    .delete('/images/{name*}', noop)
    .post('/containers/{id}/start', noop);

  it('matches image names that contain slashes and ports', () => {
    const m = r.match('GET', '/images/127.0.0.1:5000/a/b:tag/json');
    assert.ok(m && m !== 'method');
    assert.equal(m.params.name, '127.0.0.1:5000/a/b:tag');
    const d = r.match('DELETE', '/images/busybox%3Alatest');
    assert.ok(d && d !== 'method');
    assert.equal(d.params.name, 'busybox:latest');
  });

  it('keeps single-segment params to one segment and reports wrong methods', () => {
    assert.equal(r.match('POST', '/containers/a/b/start'), undefined);
    assert.equal(r.match('GET', '/containers/abc/start'), 'method');
  });
});

describe('resolvePath', () => {
  it('strips version prefixes and trailing slashes', () => {
    const p = resolvePath('/v1.41/containers/json/?all=1');
    assert.equal(p.apiVersion, '1.41');
    assert.equal(p.path, '/containers/json');
    assert.equal(p.query.get('all'), '1');
    assert.equal(resolvePath('/_ping').apiVersion, '1.44');
  });
  it('rejects versions out of range', () => {
    assert.throws(() => resolvePath('/v1.23/info'), /too old/);
    assert.throws(() => resolvePath('/v2.0/info'), /too new/);
  });
});

describe('parseFilters', () => {
  it('reads both the modern and the legacy map form', () => {
    const q = new URLSearchParams({ filters: JSON.stringify({ label: ['a=b'], dangling: { true: true } }) });
    const f = parseFilters(q);
    assert.deepEqual(f.get('label'), ['a=b']);
    assert.deepEqual(f.get('dangling'), ['true']);
  });
  it('rejects malformed filters with a 400', () => {
    assert.throws(
      () => parseFilters(new URLSearchParams({ filters: '{' })),
      (e: Error) => statusOf(e) === 400,
    );
  });
});

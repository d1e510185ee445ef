/**
 * The dashboard's cluster actions without a cluster (the actions themselves are `berth kube`'s, tested with a real
 * berth-kube in test/e2e/kube-settings): one at a time, each step kept as it starts, failures in the action's words,
 * and `/host/kube/*` over HTTP with its refusals (bad options, a second action, wrong methods).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { BerthKubeStatus, KubeAction, KubeEnableOptions, KubeProgress } from '@berth/common';
import {
  KubeBusyError,
  KubeOperations,
  kubeStartChecked,
  type KubeActionFns,
} from '../src/kube/operations.js';
import { handleHostKube } from '../src/web/host-kube.js';
import { berthPaths } from '../src/vm/paths.js';

/** Actions that wait for `release()`, recording what they were given. */
function fakeFns() {
  let release: (err?: Error) => void = () => undefined;
  const given: KubeEnableOptions[] = [];
  const step = (progress: KubeProgress, kind: string) =>
    new Promise<void>((resolve, reject) => {
      progress(`${kind}: first`);
      release = (err) => {
        progress(`${kind}: second`);
        if (err) reject(err);
        else resolve();
      };
    });
  const fns: KubeActionFns = {
    async enable(_p, o, progress) {
      given.push(o);
      await step(progress, 'enable');
      return {
        node: 'n',
        apiServer: 'https://127.0.0.1:1',
        kubeconfig: '/k',
        currentContext: 'berth',
        readyMs: 5,
      };
    },
    disable: (_p, progress) => step(progress, 'disable'),
    reset: (_p, progress) => step(progress, 'reset'),
    status: () =>
      Promise.resolve({
        state: 'stopped',
        enabled: false,
        driver: 'native',
        nodes: [],
        kubeconfig: '/k',
        context: false,
        problems: [],
      } satisfies BerthKubeStatus),
  };
  return { fns, given, release: (err?: Error) => release(err) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('cluster actions for the dashboard', () => {
  test('one at a time; steps as they start; the result or the error kept', async () => {
    const f = fakeFns();
    const ops = new KubeOperations(berthPaths('/nonexistent'), f.fns);
    assert.equal(ops.action(), null);
    const a = ops.start('enable', { port: 19123 });
    assert.equal(a.state, 'running');
    assert.deepEqual(f.given, [{ port: 19123 }]);
    assert.deepEqual(ops.action()?.steps, ['enable: first']);
    assert.throws(() => ops.start('disable'), KubeBusyError);
    assert.throws(() => ops.start('reset'), /the cluster is busy: enable is under way \(enable: first\)/);
    f.release();
    await settle();
    const done = ops.action()!;
    assert.equal(done.state, 'done');
    assert.deepEqual(done.steps, ['enable: first', 'enable: second']);
    assert.equal(done.result?.node, 'n');
    assert.ok(done.endedAt);

    const b = ops.start('disable');
    assert.equal(b.id, a.id + 1);
    f.release(new Error('the engine is not running: start it with `berth start`'));
    await settle();
    assert.equal(ops.action()?.state, 'failed');
    assert.equal(ops.action()?.error, 'the engine is not running: start it with `berth start`');
  });

  test('IPC input is checked as the web API checks it', () => {
    const ops = new KubeOperations(berthPaths('/nonexistent'), fakeFns().fns);
    assert.throws(() => kubeStartChecked(ops, 'explode', undefined), /no such cluster action: explode/);
    assert.throws(() => kubeStartChecked(ops, 'disable', { port: 1 }), /disable takes no options/);
    assert.throws(
      () => kubeStartChecked(ops, 'enable', { port: 0 }),
      /API port must be a number from 1 to 65535/,
    );
    assert.throws(() => kubeStartChecked(ops, 'enable', { podCIDR: '10.0.0.0/33' }), /IPv4 CIDR/);
    assert.throws(() => kubeStartChecked(ops, 'enable', { size: 3 }), /unknown enable option: size/);
    assert.equal(kubeStartChecked(ops, 'enable', { podCIDR: '10.227.1.0/24', use: true }).kind, 'enable');
  });

  test('/host/kube over HTTP: status, actions as 202, a second one 409, bad input 400, methods 405', async () => {
    const f = fakeFns();
    const ops = new KubeOperations(berthPaths('/nonexistent'), f.fns);
    let kube: KubeOperations | undefined = ops;
    const server = http.createServer((req, res) => {
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      void handleHostKube(kube, req, res, pathname);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const call = async (method: string, p: string, body?: string) => {
      const r = await fetch(base + p, { method, ...(body !== undefined ? { body } : {}) });
      return { status: r.status, json: await r.json() };
    };
    try {
      assert.deepEqual((await call('GET', '/host/kube')).json, await f.fns.status(berthPaths('/x')));
      assert.equal((await call('GET', '/host/kube/action')).json, null);
      const bad = await call('POST', '/host/kube/enable', '{"podCIDR":"nope"}');
      assert.equal(bad.status, 400);
      assert.match(
        (bad.json as { message: string }).message,
        /IPv4 CIDR such as 10\.42\.0\.0\/16 \(got "nope"\)/,
      );
      assert.equal((await call('POST', '/host/kube/enable', '{')).status, 400);
      assert.equal((await call('POST', '/host/kube/disable', '{"port":1}')).status, 400);
      const started = await call('POST', '/host/kube/enable', JSON.stringify({ port: 19124 }));
      assert.equal(started.status, 202);
      assert.equal((started.json as KubeAction).kind, 'enable');
      const busy = await call('POST', '/host/kube/reset');
      assert.equal(busy.status, 409);
      assert.match((busy.json as { message: string }).message, /busy: enable is under way/);
      f.release();
      await settle();
      const a = (await call('GET', '/host/kube/action')).json as KubeAction;
      assert.deepEqual([a.state, a.steps.length], ['done', 2]);
      assert.equal((await call('GET', '/host/kube/enable')).status, 405);
      assert.equal((await call('DELETE', '/host/kube')).status, 405);
      assert.equal((await call('POST', '/host/kube/explode')).status, 404);
      kube = undefined;
      assert.equal((await call('GET', '/host/kube')).status, 404);
    } finally {
      server.close();
    }
  });
});

/**
 * ClusterClient over web mode against a real berth-kube: `bin/berth serve` reads $KUBECONFIG as kubectl does,
 * keeps the credentials, and proxies requests, watches and refusals (verbatim Status) behind its token.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { KubeObject, WatchEvent } from '@berth/common';
import type { KubeError } from '../src/api/cluster-client.js';
import { ClusterClient, RESOURCES } from '../src/api/cluster-client.js';
import { HttpClusterTransport } from '../src/api/cluster-transport.js';
import type { SocketLike } from '../src/api/http-transport.js';
import { METRICS_UNAVAILABLE, readMetrics } from '../src/stores/cluster-metrics.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

function waitFor(proc: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not ready:\n${out}`)), 30_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (c) => reject(new Error(`${what} exited ${c}:\n${out}`)));
  });
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(input);
  });
}

describe('ClusterClient through berth serve (web mode) against berth-kube', () => {
  let dir: string;
  let kube: ChildProcess;
  let serve: ChildProcess;
  let base: string;
  let token: string;
  let client: ClusterClient;
  let kubeconfig: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kdash-client-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    kube = spawn(
      path.join(REPO, 'bin/berth-kube'),
      ['--data-dir', path.join(dir, 'data'), '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitFor(kube, /"API server ready"/, 'berth-kube');
    // A second file: a context nothing answers, and one whose credentials come from an exec plugin.
    const user = /client-certificate-data: (\S+)\n\s+client-key-data: (\S+)/.exec(
      readFileSync(kubeconfig, 'utf8'),
    )!;
    const server = /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1];
    const ca = /certificate-authority-data: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1];
    const plugin = path.join(dir, 'cred.sh');
    const cred = path.join(dir, 'cred.json');
    const pem = (b64: string) => Buffer.from(b64, 'base64').toString();
    await fsp.writeFile(
      cred,
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { clientCertificateData: pem(user[1]), clientKeyData: pem(user[2]) },
      }),
    );
    await fsp.writeFile(plugin, `#!/bin/sh\ncat ${cred}\n`, { mode: 0o700 });
    const other = path.join(dir, 'other');
    await fsp.writeFile(
      other,
      `clusters:
- name: gone
  cluster: {server: "https://127.0.0.1:18399"}
- name: viaexec
  cluster: {server: "${server}", certificate-authority-data: ${ca}}
contexts:
- name: gone
  context: {cluster: gone, user: nobody}
- name: via-exec
  context: {cluster: viaexec, user: plugin, namespace: kube-system}
users:
- name: plugin
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}}
`,
    );
    serve = spawn(
      path.join(REPO, 'bin/berth'),
      ['serve', '-H', `unix://${path.join(dir, 'no-engine.sock')}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, KUBECONFIG: `${other}${path.delimiter}${kubeconfig}` },
      },
    );
    const m = await waitFor(serve, /Open: (http:\/\/127\.0\.0\.1:\d+\/)\?token=(\S+)/, 'berth serve');
    base = m[1];
    token = m[2];
    client = new ClusterClient(
      new HttpClusterTransport({
        baseUrl: base,
        token,
        openSocket: (url, t) =>
          new WebSocket(url, { headers: { Authorization: `Bearer ${t}` } }) as unknown as SocketLike,
      }),
    );
  });
  after(() => {
    serve?.kill('SIGTERM');
    kube?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('contexts: every context of $KUBECONFIG, berth first, and no credential crosses the bridge', async () => {
    const c = await client.contexts();
    assert.deepEqual(
      c.contexts.map((x) => [x.name, x.auth]),
      [
        ['berth', 'client-certificate'],
        ['gone', 'none'],
        ['via-exec', 'exec'],
      ],
    );
    assert.equal(c.current, 'berth');
    const raw = await fetch(`${base}cluster/contexts`, { headers: { Authorization: `Bearer ${token}` } });
    const text = await raw.text();
    assert.doesNotMatch(text, /BEGIN|client-key|LS0t/);
    const denied = await fetch(`${base}cluster/contexts`);
    assert.equal(denied.status, 401);
    const denied2 = await fetch(`${base}cluster/ctx/berth/api/v1/namespaces`);
    assert.equal(denied2.status, 401);
  });

  test('requests with the context’s credentials; only API paths are proxied', async () => {
    const v = await client.version('berth');
    assert.equal(v.minor, '32');
    const ns = await client.list('berth', RESOURCES.namespaces);
    assert.ok(ns.items.some((n) => n.metadata.name === 'kube-system'));
    const viaExec = await client.list('via-exec', RESOURCES.namespaces);
    assert.ok(viaExec.items.length >= 3, 'the exec plugin’s client certificate authenticates');
    const healthz = await fetch(`${base}cluster/ctx/berth/healthz`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(healthz.status, 404);
  });

  test('an unreachable context is a clear error, not a hang', async () => {
    const t0 = Date.now();
    await assert.rejects(client.version('gone'), (e: Error) => {
      assert.match(
        e.message,
        /cannot reach context "gone" at https:\/\/127\.0\.0\.1:18399: nothing accepts connections there/,
      );
      return true;
    });
    await assert.rejects(client.version('missing'), /no context "missing" in the kubeconfig/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test('watch: ADDED, MODIFIED and DELETED as they happen', async () => {
    const list = await client.list('berth', RESOURCES.configmaps, 'default');
    const events: WatchEvent[] = [];
    let wake: () => void = () => undefined;
    const next = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`watch saw ${JSON.stringify(events.map((e) => e.type))}`)),
          10_000,
        );
        wake = () => {
          if (events.filter((e) => e.type !== 'BOOKMARK').length >= n) {
            clearTimeout(t);
            resolve();
          }
        };
        wake();
      });
    let ended: Error | undefined | null = null;
    const w = client.watch('berth', RESOURCES.configmaps, 'default', list.metadata.resourceVersion!, {
      onEvent: (e) => {
        events.push(e);
        wake();
      },
      onEnd: (err) => (ended = err),
    });
    await client.create('berth', RESOURCES.configmaps, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'watched' },
      data: { a: '1' },
    });
    await next(1);
    await client.patch('berth', RESOURCES.configmaps, 'default', 'watched', { data: { a: '2' } });
    await next(2);
    await client.delete('berth', RESOURCES.configmaps, 'default', 'watched');
    await next(3);
    const seen = events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(
      seen.map((e) => [e.type, (e.object as KubeObject & { data?: { a: string } }).data?.a]),
      [
        ['ADDED', '1'],
        ['MODIFIED', '2'],
        ['DELETED', '2'],
      ],
    );
    w.close();
    assert.equal(ended, undefined);
  });

  test('server-side apply as berth-dashboard: unknown fields and conflicts come back as the server words them; force wins', async () => {
    const cm = (a: string, extra = '') =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: default\ndata:\n  a: "${a}"\n${extra}`;
    const created = await client.apply('berth', RESOURCES.configmaps, 'default', 'applied', cm('1'));
    assert.ok(
      created.metadata.managedFields?.some((f) => (f as { manager: string }).manager === 'berth-dashboard'),
    );
    await assert.rejects(
      client.apply('berth', RESOURCES.configmaps, 'default', 'applied', cm('1', 'bogus: 1\n')),
      (e: KubeError) => {
        // kube-apiserver's own answer to an applied field outside the schema (a 500, as it sends it).
        assert.equal(e.code, 500);
        assert.match(
          e.message,
          /failed to create typed patch object \(default\/applied; \/v1, Kind=ConfigMap\): \.bogus: field not declared in schema/,
        );
        return true;
      },
    );
    const other = await run(
      KUBECTL,
      ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', '-'],
      cm('2'),
    );
    assert.equal(other.code, 1, other.out); // kubectl is refused too: berth-dashboard owns data.a
    assert.match(other.out, /conflict with "berth-dashboard"/);
    const forced = await run(
      KUBECTL,
      ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '-f', '-'],
      cm('2'),
    );
    assert.equal(forced.code, 0, forced.out);
    await assert.rejects(
      client.apply('berth', RESOURCES.configmaps, 'default', 'applied', cm('3')),
      (e: KubeError) => {
        assert.equal(e.code, 409);
        assert.equal(e.reason, 'Conflict');
        assert.match(e.message, /conflict with "kubectl"/);
        return true;
      },
    );
    const won = await client.apply<KubeObject & { data: { a: string } }>(
      'berth',
      RESOURCES.configmaps,
      'default',
      'applied',
      cm('3'),
      true,
    );
    assert.equal(won.data.a, '3');
  });

  test('a path that climbs out of the API is refused with a Status', async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve) => {
      http.get(
        `${base}cluster/ctx/berth/../engine/v1.44/version`,
        { headers: { Authorization: `Bearer ${token}` } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
    });
    assert.equal(r.status, 404);
    assert.equal((JSON.parse(r.body) as { reason: string }).reason, 'NotFound');
  });

  test('a cluster without metrics.k8s.io (no kubelet here): "metrics not available", not an error', async () => {
    for (const kind of ['nodes', 'pods'] as const) {
      const r = await readMetrics(client, 'berth', kind, kind === 'pods' ? 'default' : '');
      assert.equal(r.state, 'unavailable', r.message);
      assert.equal(r.message, METRICS_UNAVAILABLE);
    }
    const gone = await readMetrics(client, 'gone', 'nodes');
    assert.equal(gone.state, 'error');
    assert.match(gone.message, /^metrics: cannot reach context "gone"/);
  });
});

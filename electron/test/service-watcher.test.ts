/**
 * The host side of a cluster in a VM follows it: LoadBalancer and node ports from the Services, and the Ingress
 * controller's ports from the ConfigMap berth-kube writes, published through the PortPublisher seam. Against a
 * real berth-kube; the publisher records what it is asked for.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ingressPorts, ServicePortWatcher, servicePorts } from '../src/ports/service-watcher.js';
import type { PortPublisher } from '../src/ports/publisher.js';
import type { PublishedPort } from '../src/ports/published.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

class RecordingPublisher implements PortPublisher {
  readonly held = new Map<string, PublishedPort[]>();
  add(owner: string, p: PublishedPort): Promise<boolean> {
    this.held.set(owner, [...(this.held.get(owner) ?? []), p]);
    return Promise.resolve(true);
  }
  removeOwner(owner: string): Promise<void> {
    this.held.delete(owner);
    return Promise.resolve();
  }
  closeAll(): Promise<void> {
    this.held.clear();
    return Promise.resolve();
  }
}

async function until<T>(what: string, f: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('servicePorts and ingressPorts: which host ports a Service and the Ingress controller want', () => {
  assert.deepEqual(
    servicePorts({
      metadata: { name: 'a' },
      spec: {
        type: 'LoadBalancer',
        ports: [
          { port: 8080, nodePort: 30080 },
          { port: 53, nodePort: 30053, protocol: 'UDP' },
          { port: 9, protocol: 'SCTP' },
        ],
      },
    }).map((p) => `${p.port}/${p.proto}`),
    ['8080/tcp', '30080/tcp', '53/udp', '30053/udp'],
  );
  assert.deepEqual(servicePorts({ metadata: { name: 'c' }, spec: { ports: [{ port: 80 }] } }), []);
  assert.deepEqual(
    ingressPorts({ http: '0.0.0.0:80', https: '0.0.0.0:443', notes: 'x' }).map((p) => p.port),
    [80, 443],
  );
  assert.deepEqual(
    ingressPorts({ http: '127.0.0.1:8080', https: 'nonsense' }).map((p) => p.port),
    [8080],
  );
  assert.deepEqual(ingressPorts(undefined), []);
});

describe('ServicePortWatcher against berth-kube', () => {
  let dir: string;
  let kube: ChildProcess;
  let kubeconfig: string;
  const kubectl = (...args: string[]) => {
    const r = spawnSync(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-svc-watch-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    kube = spawn(
      path.join(REPO, 'bin/berth-kube'),
      [...['--data-dir', path.join(dir, 'data'), '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0']],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const on = (d: Buffer) => {
        out += d.toString();
        if (out.includes('"API server ready"')) resolve();
      };
      kube.stdout?.on('data', on);
      kube.stderr?.on('data', on);
      kube.once('exit', (c) => reject(new Error(`berth-kube exited ${c}:\n${out}`)));
    });
  });

  after(async () => {
    if (kube.exitCode === null) {
      const gone = new Promise((r) => kube.once('exit', r));
      kube.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('publishes the Ingress ports and a LoadBalancer, and withdraws the Service when it goes', async () => {
    const pub = new RecordingPublisher();
    const watcher = new ServicePortWatcher(kubeconfig, pub);
    watcher.start();
    try {
      // What berth-kube's Ingress controller writes once it listens (it runs only beside an engine; the
      // ConfigMap is the seam, checked on the controller's side by kube-ingress), after the watcher started.
      await new Promise((r) => setTimeout(r, 500));
      kubectl(
        ...['create', 'configmap', 'berth-ingress', '-n', 'kube-system'],
        ...['--from-literal=http=0.0.0.0:18780', '--from-literal=https=0.0.0.0:18743'],
      );
      const got = await until('the ingress ports', () => pub.held.get('ingress:'));
      assert.deepEqual(
        got.map((p) => p.port),
        [18780, 18743],
      );
      kubectl('create', 'service', 'loadbalancer', 'web', '--tcp=18765:80');
      const lb = await until('the LoadBalancer ports', () => pub.held.get('svc:default/web'));
      assert.ok(lb.some((p) => p.port === 18765 && p.proto === 'tcp'));
      kubectl('delete', 'service', 'web');
      await until('the Service withdrawn', () => (pub.held.has('svc:default/web') ? undefined : true));
      assert.ok(pub.held.has('ingress:'), 'the ingress ports stay');
    } finally {
      await watcher.stop();
    }
    assert.equal(pub.held.size, 0, 'stop withdraws everything');
  });
});

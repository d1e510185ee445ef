/**
 * The Cluster views in Debian's chromium (web mode) against berth-kube with its kubelet over a real berthd:
 * `berth serve` reads $KUBECONFIG (berth-kube's context plus one nothing answers). The pod list fills and follows
 * kubectl live; a failing pod shows kubectl's reason; logs and the exec terminal work; scale, restart, rollback
 * and delete act on the cluster (checked with the real kubectl); a YAML edit the server refuses shows its words;
 * the unreachable context says so; a port-forward from the pod view answers on the shown link; Nodes show usage
 * from metrics. Screenshots in light and dark go to test-output/screenshots/cluster-*.
 * Pod network: a /24 of 10.220.0.0/16; API port 18300 + pid % 50.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { haveKubectl, until, type KubeCluster } from '../helpers/kube-cluster.js';
import { startPodCluster, type PodCluster } from '../helpers/kube-pods.js';
import { Dashboard } from './support/dashboard.js';
import {
  CHROMEDRIVER,
  CHROMIUM,
  endSession,
  SCREENSHOTS,
  screenshot,
  startBrowser,
  startServe,
} from './support/stack.js';

const skip = requirement(
  IS_ROOT && existsSync(CHROMIUM) && existsSync(CHROMEDRIVER) && haveKubectl(),
  'the cluster e2e needs root (berthd), chromium + chromedriver and kubectl 1.32',
);
const NET = `kdash-e2e-${process.pid}`;
const SUBNET = `10.220.${(process.pid % 250) + 1}.0/24`;

const deployment = (name: string, replicas: number, image = 'busybox') =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] },
      },
    },
  });

const pod = (name: string, command: string[], image = 'busybox', labels: Record<string, string> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { e2e: 'kdash', ...labels } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image, imagePullPolicy: 'IfNotPresent', command }],
    },
  });

describe('Cluster views (web mode, real browser, berth-kube over berthd)', { skip }, () => {
  let c: PodCluster;
  let env: ContainerTestEnv;
  let kube: KubeCluster;
  let serve: ChildProcess;
  let browser: WebdriverIO.Browser;
  let ui: Dashboard;
  let dir: string;

  before(async () => {
    c = await startPodCluster({
      port: 18300 + (process.pid % 50),
      nodeName: 'kdash',
      podCIDR: SUBNET,
      podNetwork: NET,
    });
    ({ env, kube } = c);
    dir = mkdtempSync(path.join(os.tmpdir(), 'kdash-e2e-'));
    const gone = path.join(dir, 'gone');
    await fsp.writeFile(
      gone,
      'clusters:\n- name: gone\n  cluster: {server: "https://127.0.0.1:18399"}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: nobody}\n',
    );
    const s = await startServe(env.d.socket, {
      ...process.env,
      KUBECONFIG: `${kube.kubeconfig}${path.delimiter}${gone}`,
    });
    serve = s.proc;
    browser = await startBrowser();
    mkdirSync(SCREENSHOTS, { recursive: true });
    ui = new Dashboard(browser);
    await browser.url(`${s.url}?token=${s.token}`);
    await browser.execute(() => {
      localStorage.setItem('berth.cluster.context', 'berth');
      localStorage.setItem('berth.cluster.namespace', 'default');
    });
    await browser.refresh();
  });
  after(async () => {
    await endSession(browser);
    serve?.kill('SIGTERM');
    await kube?.kubectl(['delete', 'deployments', '--all', '--grace-period=0', '--force']);
    await c?.destroy();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  test('the status bar and the pickers show the berth context, connected', async () => {
    await ui.open('/cluster/pods');
    await ui.view('cluster');
    await ui.waitText('[data-test="cluster-state"]', (t) => t.includes('berth: connected'));
    await ui.waitText('[data-test="cluster-connection"]', (t) => t.startsWith('Live'));
    assert.equal(await ui.$('context-picker').getValue(), 'berth');
    await ui.waitText('[data-test="pods-watch"]', (t) => t === 'live');
  });

  test('the pod list fills and follows the cluster live (no reload): created, Running, deleted', async () => {
    await kube.k(['apply', '-f', '-'], { input: pod('live-a', ['sleep', '3600']) });
    await kube.k(['apply', '-f', '-'], { input: pod('live-b', ['sleep', '3600']) });
    const status = (name: string) => `tr[data-name="${name}"] [data-test="pod-status"]`;
    await ui.waitText(status('live-a'), (t) => t === 'Running', 60_000);
    await ui.waitText(status('live-b'), (t) => t === 'Running', 60_000);
    assert.equal(await browser.$('tr[data-name="live-a"] [data-test="pod-ready"]').getText(), '1/1');
    await ui.$('pod-labels').setValue('e2e=kdash');
    await ui.waitText('[data-test="pod-count"]', (t) => t === '2 pods');
    await ui.$('pod-labels').clearValue();
    await screenshot(browser, 'cluster-pods-light');
    await kube.k(['delete', 'pod', 'live-b', '--wait=false']);
    await browser.waitUntil(async () => !(await browser.$('tr[data-name="live-b"]').isExisting()), {
      timeout: 30_000,
      timeoutMsg: 'live-b still listed after kubectl delete',
    });
  });

  test('a failing pod shows the reason kubectl prints', async () => {
    await kube.k(['apply', '-f', '-'], { input: pod('crashy', ['sh', '-c', 'echo dying; exit 3']) });
    await kube.k(['apply', '-f', '-'], { input: pod('no-image', ['true'], 'kdash-missing/nothing:1') });
    const status = (name: string) => `tr[data-name="${name}"] [data-test="pod-status"]`;
    await ui.waitText(status('crashy'), (t) => /CrashLoopBackOff|Error/.test(t), 60_000);
    await ui.waitText(status('no-image'), (t) => /ErrImagePull|ImagePullBackOff/.test(t), 60_000);
    await screenshot(browser, 'cluster-failing-pods');
  });

  test('pod detail: logs of the container, and a terminal over the exec WebSocket', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: pod('talker', [
        'sh',
        '-c',
        'echo hello-from-kdash; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done',
      ]),
    });
    await until(
      'talker running',
      async () => (await kube.k(['get', 'pod', 'talker', '--no-headers'])).includes('Running'),
      60_000,
    );
    await ui.open('/cluster/pods/default/talker/logs');
    await ui.view('pod');
    await ui.waitText(
      '[data-test="pod-logs"]',
      (t) => t.includes('hello-from-kdash') && t.includes('tick-2'),
      30_000,
    );
    // Follow: lines keep coming without a reload.
    const n = (t: string) => Number(/tick-(\d+)\s*$/.exec(t)?.[1] ?? 0);
    const first = n(await ui.$('pod-logs').getText());
    await ui.waitText('[data-test="pod-logs"]', (t) => n(t) >= first + 2, 15_000);
    await screenshot(browser, 'cluster-pod-logs');
    await ui.open('/cluster/pods/default/talker/terminal');
    const term = ui.$('pod-terminal');
    await term.waitForDisplayed({ timeout: 10_000 });
    await browser.waitUntil(async () => (await ui.$('term-status').getText()) === 'open', {
      timeout: 10_000,
    });
    await term.click();
    await browser.keys([...'echo kd-$((6*7)); stty size', 'Enter']);
    const cols = await term.getAttribute('data-cols');
    const rows = await term.getAttribute('data-rows');
    const text = await ui.waitText(
      '[data-test="pod-terminal"] .xterm-rows',
      (t) => t.includes('kd-42'),
      20_000,
    );
    assert.ok(text.includes(`${rows} ${cols}`), `stty size should match the pane (${rows} ${cols}): ${text}`);
    await screenshot(browser, 'cluster-pod-terminal');
  });

  test('port-forward from the pod view: the shown link answers from this machine, listed, then stopped', async () => {
    await kube.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'webby', namespace: 'default', labels: { e2e: 'kdash-pf' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: [
                'sh',
                '-c',
                'mkdir -p /www; echo served-by-webby > /www/index.html; exec httpd -f -p 8080 -h /www',
              ],
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      }),
    });
    await until(
      'webby running',
      async () => (await kube.k(['get', 'pod', 'webby', '--no-headers'])).includes('Running'),
      60_000,
    );
    await ui.open('/cluster/pods/default/webby/overview');
    await ui.view('pod');
    await ui.$('port-forwards').waitForDisplayed({ timeout: 10_000 });
    assert.equal(await ui.$('pf-port').getValue(), '8080', "the container's port is offered");
    await ui.$('pf-start').click();
    const url = await ui.waitText('[data-test="pf-link"]', (t) => /^http:\/\/127\.0\.0\.1:\d+$/.test(t));
    const got = await fetch(`${url}/index.html`);
    assert.equal(got.status, 200);
    assert.equal((await got.text()).trim(), 'served-by-webby');
    await ui.waitText('[data-test="pf-list"]', (t) => /1 total|[1-9] total/.test(t), 10_000);
    await screenshot(browser, 'cluster-port-forward');
    // A local port that is taken is refused in words, the forward kept.
    await ui.$('pf-local').setValue(new URL(url).port);
    await ui.$('pf-start').click();
    assert.match(
      await ui.waitText('[data-test="pf-error"]', (t) => t.length > 0),
      /is taken by another program/,
    );
    await ui.$('pf-stop').click();
    await ui.$('pf-none').waitForDisplayed({ timeout: 10_000 });
    await assert.rejects(fetch(`${url}/index.html`));
  });

  test('Nodes: usage from metrics beside capacity and allocatable; pods show CPU and memory', async () => {
    await ui.open('/cluster/nodes');
    const pct = await ui.waitText(
      'tr[data-node="kdash"] [data-test="node-memory"] [data-test="pct"]',
      (t) => /^\d+%$/.test(t),
      30_000,
    );
    assert.ok(Number(pct.slice(0, -1)) > 0, `memory in use: ${pct}`);
    await ui.waitText('tr[data-node="kdash"] [data-test="node-cpu"]', (t) => /\d+m\s*\/\s*\d+m/.test(t));
    assert.equal(await ui.$('metrics-state').isExisting(), false, 'berth-kube serves metrics');
    // kubectl top reads the same API.
    assert.match(
      await kube.k(['top', 'node', 'kdash', '--no-headers']),
      /^kdash\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/,
    );
    await screenshot(browser, 'cluster-nodes');
    await ui.open('/cluster/pods');
    await ui.waitText(
      'tr[data-name="talker"] [data-test="pod-memory"]',
      (t) => /^\d+(\.\d)?[MG]i$/.test(t),
      40_000,
    );
  });

  test('scale, rollout restart and rollback of a Deployment from the Workloads view', async () => {
    await kube.k(['apply', '-f', '-'], { input: deployment('web', 1) });
    // No deployment controller yet: the revisions rollback offers are ReplicaSets as the controller writes them.
    const uid = (await kube.k(['get', 'deployment', 'web', '-o', 'jsonpath={.metadata.uid}'])).trim();
    for (const [rev, image] of [
      ['1', 'busybox:old'],
      ['2', 'busybox'],
    ]) {
      await kube.k(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `web-r${rev}`,
            namespace: 'default',
            labels: { app: 'web', 'pod-template-hash': `h${rev}` },
            annotations: { 'deployment.kubernetes.io/revision': rev },
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid, controller: true },
            ],
          },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'web', 'pod-template-hash': `h${rev}` } },
            template: {
              metadata: { labels: { app: 'web', 'pod-template-hash': `h${rev}` } },
              spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'] }] },
            },
          },
        }),
      });
    }
    await ui.open('/cluster/workloads');
    const row = 'tr[data-name="web"][data-kind="Deployment"]';
    await browser.$(row).waitForDisplayed({ timeout: 15_000 });
    await browser.$(`${row} [data-test="wl-scale"]`).click();
    await ui.$('scale-replicas').setValue('3');
    await ui.$('scale-apply').click();
    await until(
      'replicas 3',
      async () => (await kube.k(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])) === '3',
    );
    await ui.waitText(`${row} [data-test="workload-ready"]`, (t) => t.endsWith('/3'));
    await browser.$(`${row} [data-test="wl-restart"]`).click();
    await until('restartedAt', async () =>
      (
        await kube.k(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.metadata.annotations}'])
      ).includes('kubectl.kubernetes.io/restartedAt'),
    );
    await browser.$(`${row} [data-test="wl-rollback"]`).click();
    await browser.$('tr[data-revision="1"] [data-test="rollback-to"]').click();
    await until(
      'rolled back to busybox:old',
      async () =>
        (await kube.k([
          'get',
          'deployment',
          'web',
          '-o',
          'jsonpath={.spec.template.spec.containers[0].image}',
        ])) === 'busybox:old',
    );
    const labels = await kube.k([
      'get',
      'deployment',
      'web',
      '-o',
      'jsonpath={.spec.template.metadata.labels}',
    ]);
    assert.ok(!labels.includes('pod-template-hash'), labels);
    await screenshot(browser, 'cluster-workloads');
  });

  test('YAML edit: the server’s refusal verbatim, a conflict with kubectl offered to force, then applied', async () => {
    const row = 'tr[data-name="web"][data-kind="Deployment"]';
    await browser.$(`${row} [data-test="wl-edit"]`).click();
    const box = ui.$('yaml-text');
    await box.waitForDisplayed();
    const yaml = await box.getValue();
    assert.ok(!yaml.includes('managedFields'), 'managed fields are hidden');
    await box.setValue(yaml.replace('spec:\n', 'spec:\n  bogusField: 1\n'));
    await ui.$('yaml-apply').click();
    const err = await ui.waitText('[data-test="yaml-error"]', (t) => t.length > 0);
    assert.match(err, /bogusField/);
    await screenshot(browser, 'cluster-yaml-error');
    // kubectl applies server-side and owns spec.replicas; our apply of another value conflicts.
    await kube.k(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: deployment('web', 2) });
    await browser.keys('Escape');
    await browser.$(`${row} [data-test="wl-edit"]`).click();
    const fresh = await ui.$('yaml-text').getValue();
    await ui.$('yaml-text').setValue(fresh.replace(/replicas: \d+/, 'replicas: 4'));
    await ui.$('yaml-apply').click();
    const conflict = await ui.waitText('[data-test="yaml-error"]', (t) => t.length > 0);
    assert.match(conflict, /conflict with "kubectl"/);
    await ui.$('yaml-force').click();
    await until(
      'replicas 4',
      async () => (await kube.k(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])) === '4',
    );
  });

  test('delete from the UI, the cascade explained first', async () => {
    const row = 'tr[data-name="web"][data-kind="Deployment"]';
    await browser.$(`${row} [data-test="wl-delete"]`).click();
    const msg = await ui.waitText('[data-test="confirm-dialog"]', (t) => t.includes('ReplicaSets'));
    assert.match(msg, /background cascade/);
    await ui.confirm();
    await until('web gone', async () => (await kube.kubectl(['get', 'deployment', 'web'])).code !== 0);
  });

  test('screenshots in dark', async () => {
    await browser.execute(() => localStorage.setItem('berth.theme', 'dark'));
    await browser.refresh();
    await ui.open('/cluster/pods');
    await ui.waitText('[data-test="pods-watch"]', (t) => t === 'live');
    assert.equal(await browser.execute(() => document.documentElement.dataset.theme), 'dark');
    await screenshot(browser, 'cluster-pods-dark');
    await ui.open('/cluster/pods/default/talker/logs');
    await ui.waitText('[data-test="pod-logs"]', (t) => t.includes('hello-from-kdash'));
    await screenshot(browser, 'cluster-pod-logs-dark');
    await ui.open('/cluster/nodes');
    await ui.waitText(
      'tr[data-node="kdash"] [data-test="node-cpu"] [data-test="pct"]',
      (t) => /%$/.test(t),
      30_000,
    );
    await screenshot(browser, 'cluster-nodes-dark');
    await ui.open('/cluster/pods/default/webby/overview');
    await ui.$('port-forwards').waitForDisplayed({ timeout: 10_000 });
    await ui.$('pf-start').click();
    await ui.waitText('[data-test="pf-link"]', (t) => t.startsWith('http://127.0.0.1:'));
    await screenshot(browser, 'cluster-port-forward-dark');
    await ui.$('pf-stop').click();
    await browser.execute(() => localStorage.setItem('berth.theme', 'light'));
  });

  test('a context that cannot be reached says so, with the reason', async () => {
    await ui.open('/cluster/pods');
    await ui.$('context-picker').selectByAttribute('value', 'gone');
    const msg = await ui.waitText('[data-test="cluster-unreachable"]', (t) => t.length > 0);
    assert.match(msg, /Cannot reach the cluster of context “gone”/);
    assert.match(msg, /127\.0\.0\.1:18399: nothing accepts connections there/);
    await ui.waitText('[data-test="cluster-state"]', (t) => t.includes('gone: unreachable'));
    await screenshot(browser, 'cluster-unreachable');
    await ui.$('context-picker').selectByAttribute('value', 'berth');
    await ui.waitText('[data-test="cluster-state"]', (t) => t.includes('berth: connected'));
  });
});

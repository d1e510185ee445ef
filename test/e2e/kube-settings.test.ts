/**
 * Settings → Kubernetes in web mode (`berth serve` following its own BERTH_HOME, the native driver): enable with
 * an API port and pod network of its own, following the steps until the node is Ready (checked with kubectl through
 * the merged context), a bad pod network refused in words, disable, and reset after its confirmation. Real
 * chromium, berthd and berth-kube. API port 19150 + pid % 40; pod network a /24 of 10.227.0.0/16.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { run } from '../helpers/exec.js';
import { KUBECTL, haveKubectl } from '../helpers/kube-cluster.js';
import { Dashboard } from './support/dashboard.js';
import { CHROMEDRIVER, CHROMIUM, endSession, screenshot, startBrowser, startServe } from './support/stack.js';

const skip =
  requirement(
    existsSync(CHROMIUM) && existsSync(CHROMEDRIVER) && haveKubectl(),
    `chromium, chromium-driver (apt) and kubectl 1.32 are needed`,
  ) ?? requirement(IS_ROOT, 'the native engine and its cluster run as root');

const PORT = 19150 + (process.pid % 40);
const CIDR = `10.227.${(process.pid % 250) + 1}.0/24`;

describe('Settings → Kubernetes (web mode, Berth’s own engine)', { skip }, () => {
  let h: BerthHome;
  let kubeconfig: string;
  let serve: Awaited<ReturnType<typeof startServe>>;
  let browser: WebdriverIO.Browser;
  let ui: Dashboard;
  const action = (done: string, ms = 120_000) =>
    ui.waitText('[data-test="kube-action"]', (t) => t.startsWith(done) || / failed/.test(t), ms);

  before(async () => {
    h = berthHome('berth-kdash2-');
    kubeconfig = path.join(h.home, 'kubeconfig');
    h.env.KUBECONFIG = kubeconfig;
    const r = await h.berth(['start', '--driver', 'native']);
    assert.equal(r.code, 0, r.stderr);
    serve = await startServe(undefined, h.env);
    browser = await startBrowser();
    ui = new Dashboard(browser);
    await browser.url(`${serve.url}?token=${serve.token}`);
    await browser.execute(() => localStorage.setItem('berth.theme', 'light'));
    await ui.open('/settings');
    await ui.$('kube-settings').waitForDisplayed({ timeout: 15_000 });
  });
  after(async () => {
    await endSession(browser);
    serve?.proc.kill('SIGTERM');
    await h?.berth(['kube', 'disable']);
    await h?.berth(['stop', '-t', '5']);
    await h?.remove();
  });

  test('enable: a bad pod network is refused in words; then the steps until the node is Ready', async () => {
    await ui.waitText('[data-test="kube-state"]', (t) => t === 'Not enabled');
    await ui.$('kube-port').setValue(String(PORT));
    await ui.$('kube-cidr').setValue('10.227.0.0');
    await ui.$('kube-enable').click();
    assert.match(
      await ui.waitText('[data-test="kube-error"]', (t) => t.length > 0),
      /the pod network must be an IPv4 CIDR such as 10\.42\.0\.0\/16 \(got "10\.227\.0\.0"\)/,
    );
    await ui.$('kube-cidr').setValue(CIDR);
    await ui.$('kube-enable').click();
    await ui.waitText('[data-test="kube-steps"]', (t) =>
      t.includes(`Starting the cluster (API server on 127.0.0.1:${PORT})`),
    );
    const done = await action('Enabled');
    assert.match(done, /^Enabled/, done);
    assert.match(done, /Node \S+ is Ready/);
    await ui.waitText('[data-test="kube-state"]', (t) => t === 'Running', 20_000);
    // The status bar finds the context the enable merged, without a reload.
    await ui.waitText('[data-test="cluster-state"]', (t) => t === '⎈ berth: connected', 20_000);
    assert.equal(await ui.$('kube-api').getText(), `https://127.0.0.1:${PORT}`);
    assert.match(await ui.$('kube-kubeconfig').getText(), /kubeconfig \(context “berth”\)$/);
    // Where Ingresses answer, as berth-kube's controller reports it (80/443, or the ports it fell back to).
    await ui.waitText('[data-test="kube-ingress"]', (t) => /^http:\/\/127\.0\.0\.1:\d+/.test(t), 20_000);
    const nodes = await run(
      KUBECTL,
      [
        '--kubeconfig',
        kubeconfig,
        '--context',
        'berth',
        'get',
        'nodes',
        '-o',
        'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}',
      ],
      { env: { ...h.env, HOME: h.home }, timeoutMs: 30_000 },
    );
    assert.equal(nodes.stdout, 'True', nodes.stderr);
    const s = JSON.parse((await h.berth(['kube', 'status', '--json'])).stdout) as { state: string };
    assert.equal(s.state, 'running');
    await ui.$('kube-settings').scrollIntoView({ block: 'end' });
    await screenshot(browser, 'settings-kubernetes');
    // The remembered choices come back with the page.
    await browser.refresh();
    await ui.$('kube-settings').waitForDisplayed({ timeout: 15_000 });
    await ui.waitText('[data-test="kube-state"]', (t) => t === 'Running');
    await ui.waitText('[data-test="kube-action"]', (t) => t.startsWith('Enabled'));
  });

  test('disable stops the cluster; reset asks first, then deletes its state', async () => {
    await browser.execute(() => localStorage.setItem('berth.theme', 'dark'));
    await browser.refresh();
    await ui.$('kube-settings').waitForDisplayed({ timeout: 15_000 });
    await ui.waitText('[data-test="kube-state"]', (t) => t === 'Running');
    await ui.waitText('[data-test="cluster-state"]', (t) => t === '⎈ berth: connected', 20_000);
    await ui.$('kube-settings').scrollIntoView({ block: 'end' });
    await screenshot(browser, 'settings-kubernetes-dark');
    await ui.$('kube-disable').click();
    assert.match(await action('Disabled', 60_000), /^Disabled/);
    await ui.waitText('[data-test="kube-state"]', (t) => t === 'Not enabled', 20_000);
    // The status bar follows the cluster going away (it said "connected" until a reload).
    await ui.waitText('[data-test="cluster-state"]', (t) => t === '⎈ berth: unreachable', 5_000);
    const s = JSON.parse((await h.berth(['kube', 'status', '--json'])).stdout) as {
      state: string;
      enabled: boolean;
    };
    assert.deepEqual([s.state, s.enabled], ['stopped', false]);
    assert.ok(existsSync(path.join(h.home, 'kube')), 'disable keeps the state');
    await ui.$('kube-reset').click();
    const msg = await ui.waitText('[data-test="confirm-dialog"]', (t) => t.includes('Reset'));
    assert.match(msg, /deletes its state/);
    await ui.confirm();
    assert.match(await action('Reset done', 60_000), /^Reset done/);
    assert.equal(existsSync(path.join(h.home, 'kube')), false, "reset deletes the cluster's state");
    assert.equal(await ui.$('cluster-state').getText(), '⎈ berth: unreachable');
    await ui.$('kube-settings').scrollIntoView({ block: 'end' });
    await screenshot(browser, 'settings-kubernetes-reset-dark');
    await browser.execute(() => localStorage.setItem('berth.theme', 'light'));
  });
});

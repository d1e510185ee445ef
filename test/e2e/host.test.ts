/**
 * The dashboard for Berth's own engine (web mode, `berth serve` following BERTH_HOME, the native driver):
 * Settings edits the registries and offers the restart that applies them; a stopped engine is offered a
 * start from the status bar; Troubleshoot shows the engine's log and what keeps Kubernetes from running. Real
 * chromium, real berthd.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { Dashboard } from './support/dashboard.js';
import { CHROMEDRIVER, CHROMIUM, endSession, screenshot, startBrowser, startServe } from './support/stack.js';

const skip =
  requirement(
    existsSync(CHROMIUM) && existsSync(CHROMEDRIVER),
    `chromium and chromium-driver (apt) are needed at ${CHROMIUM} and ${CHROMEDRIVER}`,
  ) ?? requirement(IS_ROOT, 'the native engine runs as root');

describe('dashboard for Berth’s own engine (settings, restart, start)', { skip }, () => {
  let h: BerthHome;
  let serve: Awaited<ReturnType<typeof startServe>>;
  let browser: WebdriverIO.Browser;
  let ui: Dashboard;
  const indexConfigs = async () =>
    (await h.docker(['--context', 'berth', 'info', '--format', '{{json .RegistryConfig.IndexConfigs}}']))
      .stdout;

  before(async () => {
    h = berthHome();
    const r = await h.berth(['start', '--driver', 'native']);
    assert.equal(r.code, 0, r.stderr);
    serve = await startServe(undefined, h.env);
    browser = await startBrowser();
    ui = new Dashboard(browser);
    await browser.url(`${serve.url}?token=${serve.token}`);
    await ui.view('containers');
  });
  after(async () => {
    await endSession(browser);
    serve?.proc.kill('SIGTERM');
    await h?.berth(['stop', '-t', '5']);
    await h?.remove();
  });

  test('Settings: a bad registry is refused with the reason; a good one is saved and the restart is offered', async () => {
    await ui.open('/settings');
    await ui.$('engine-settings').waitForDisplayed({ timeout: 10_000 });
    await ui.$('settings-insecure').setValue('http://10.0.2.2:5056/v2');
    await ui.$('settings-save').click();
    await ui.waitText('[data-test="settings-error"]', (t) => /invalid insecure registry/.test(t));
    await ui.$('settings-insecure').setValue('10.0.2.2:5056');
    await ui.$('settings-save').click();
    const pending = await ui.waitText('[data-test="settings-pending"]', (t) => t.length > 0);
    assert.match(pending, /Insecure registries: the engine still runs with the old values until it restarts/);
    await screenshot(browser, 'settings-restart-offered');
    assert.doesNotMatch(await indexConfigs(), /10\.0\.2\.2:5056/, 'saved, not yet applied');
    await ui.$('settings-restart').click();
    await ui.$('settings-restarted').waitForDisplayed({ timeout: 60_000 });
    assert.match(await indexConfigs(), /"10\.0\.2\.2:5056":\{[^}]*"Secure":false/);
    await ui.waitText('[data-test="engine-state"]', (t) => t === 'Engine running', 20_000);
  });

  test('a setting that applies at once says so, and saving it offers no restart', async () => {
    await ui.open('/settings');
    await ui.$('engine-settings').waitForDisplayed({ timeout: 10_000 });
    await ui.$('settings-on-quit').selectByAttribute('value', 'stop-engine');
    await ui.$('settings-save').click();
    await ui.$('settings-saved').waitForDisplayed({ timeout: 10_000 });
    assert.equal(await ui.$('settings-restart').isExisting(), false);
    const s = JSON.parse((await h.berth(['status', '--json'])).stdout) as { state: string };
    assert.equal(s.state, 'running');
  });

  test('a stopped engine: the status bar says so and starts it', async () => {
    assert.equal((await h.berth(['stop', '-t', '5'])).code, 0);
    await ui.open('/containers');
    await ui.waitText('[data-test="engine-state"]', (t) => t === 'Engine stopped', 30_000);
    assert.equal(await ui.$('status-bar').$('.err').isExisting(), false, 'no transport error for a stop');
    await ui.$('status-start').waitForDisplayed({ timeout: 15_000 });
    await screenshot(browser, 'engine-stopped');
    await ui.$('status-start').click();
    await ui.waitText('[data-test="engine-state"]', (t) => t === 'Engine running', 60_000);
    assert.equal((await h.berth(['status'])).code, 0);
  });

  test("Troubleshoot shows the engine's log and can restart it", async () => {
    await ui.open('/troubleshoot');
    await ui.view('troubleshoot');
    await ui.waitText('pre.logs', (t) => t.includes('API listening'));
    assert.equal(await ui.$('troubleshoot-restart').isEnabled(), true);
  });

  test('Troubleshoot says what keeps Kubernetes from running, in words to act on', async () => {
    // An enabled cluster that is not running, its API port held by this test: both said, the holder named.
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const file = path.join(h.home, 'settings.json');
      const settings = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
      await fsp.writeFile(file, JSON.stringify({ ...settings, kube: { enabled: true, port, podCIDR: '' } }));
      await ui.open('/troubleshoot');
      await ui.view('troubleshoot');
      // The view may still be mounted from the test before, with a check made before this settings change.
      await ui.$('troubleshoot-kube-check').click();
      const text = await ui.waitText('[data-test="troubleshoot-kube"]', (t) => t.includes(`port ${port}`));
      assert.match(text, /berth-kube is not running \(it left no log\): `berth kube enable` starts it/);
      assert.match(text, new RegExp(`port ${port} on 127.0.0.1 is taken by node \\(pid ${process.pid}`));
      await screenshot(browser, 'troubleshoot-kube');
    } finally {
      holder.close();
      const file = path.join(h.home, 'settings.json');
      const settings = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
      await fsp.writeFile(
        file,
        JSON.stringify({ ...settings, kube: { enabled: false, port: 0, podCIDR: '' } }),
      );
    }
  });
});

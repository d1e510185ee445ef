/**
 * The dashboard end to end, in a real browser against `berth serve` and a real berthd. Scenarios whose
 * engine feature is not in this berthd yet skip, saying which feature they wait for, and run as soon as
 * the engine answers that route.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Dashboard } from './support/dashboard.js';
import { CHROMEDRIVER, CHROMIUM, engineHas, screenshot, startStack, type Stack } from './support/stack.js';
import { requirement, skipUnless } from '../helpers/env.js';

/** A one-file ustar archive (what a user would import into a volume). */
function ustar(name: string, text: string): Buffer {
  const data = Buffer.from(text);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write(
    Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0') + '\0',
    136,
  );
  h.fill(' ', 148, 156);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

interface SeededRegistry {
  ref(repoTag: string): string;
}
const SEED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/seed.js');

const browserMissing = requirement(
  existsSync(CHROMIUM) && existsSync(CHROMEDRIVER),
  `chromium and chromium-driver (apt) are needed at ${CHROMIUM} and ${CHROMEDRIVER}`,
);

describe('dashboard (web mode, real browser, real engine)', { skip: browserMissing }, () => {
  let stack: Stack;
  let ui: Dashboard;
  let busybox: string | undefined;
  const features: Record<string, boolean> = {};

  /**
   * Skips with the missing engine feature named (the route berthd does not serve yet); under CI a missing
   * feature fails the test instead, since berthd serves every route these scenarios use.
   */
  function waitingFor(t: TestContext, ...needs: string[]): boolean {
    const missing = needs.filter((n) => !features[n]);
    return skipUnless(t, missing.length === 0, `waiting for engine feature: ${missing.join(', ')}`);
  }

  /** The image the pull scenario pulled; a scenario that needs it cannot pass when that one did not. */
  function pulled(t: TestContext): string | undefined {
    if (skipUnless(t, busybox !== undefined, 'the pull scenario did not pull busybox (see its failure)'))
      return;
    return busybox;
  }

  before(async () => {
    stack = await startStack();
    ui = new Dashboard(stack.browser);
    const d = stack.daemon;
    features['containers API'] = await engineHas(d, 'GET', '/v1.44/containers/json');
    features['images API (pull)'] = await engineHas(d, 'GET', '/v1.44/images/json');
    features['volumes API'] = await engineHas(d, 'GET', '/v1.44/volumes');
    features['networks API'] = await engineHas(d, 'GET', '/v1.44/networks');
    features['exec API'] = await engineHas(d, 'POST', '/v1.44/exec/none/resize');
    features['test registry fixtures'] = existsSync(SEED);
    features['archive API'] = await engineHas(d, 'GET', '/v1.44/containers/none/archive?path=/');
    features['archive upload API'] = await engineHas(d, 'PUT', '/v1.44/containers/none/archive?path=/');
    await stack.browser.url(`${stack.url}?token=${stack.token}`);
    await ui.view('containers');
  });

  after(async () => {
    await stack?.close();
  });

  test('the token URL signs the browser in and drops the token from the address bar', async () => {
    const url = await stack.browser.getUrl();
    assert.ok(!url.includes('token='), url);
    await ui.waitText('[data-test="engine-state"]', (t) => t === 'Engine running');
    await ui.waitText('[data-test="status-bar"]', (t) => /API 1\.44/.test(t));
  });

  test('every view renders; screenshots are saved', async () => {
    for (const [route, view] of [
      ['/containers', 'containers'],
      ['/images', 'images'],
      ['/volumes', 'volumes'],
      ['/networks', 'networks'],
      ['/settings', 'settings'],
      ['/troubleshoot', 'troubleshoot'],
    ] as const) {
      await ui.open(route);
      await ui.view(view);
      await stack.browser.pause(300);
      await screenshot(stack.browser, `${view}-light`);
    }
    await ui.open('/settings');
    await ui.$('theme-dark').click();
    assert.equal(await stack.browser.execute(() => document.documentElement.dataset.theme), 'dark');
    await ui.open('/containers');
    await ui.view('containers');
    await screenshot(stack.browser, 'containers-dark');
    await ui.open('/troubleshoot');
    await ui.view('troubleshoot');
    await screenshot(stack.browser, 'troubleshoot-dark');
    await ui.open('/settings');
    await ui.$('theme-light').click();
    // The smallest supported window.
    await stack.browser.setViewport({ width: 1024, height: 640 });
    await ui.open('/containers');
    await ui.view('containers');
    await screenshot(stack.browser, 'containers-1024x640');
    await stack.browser.setViewport({ width: 1280, height: 800 });
  });

  test('keyboard: Alt+number switches views', async () => {
    await ui.open('/containers');
    await stack.browser.keys(['Alt', '3']);
    await ui.view('volumes');
    await stack.browser.keys(['Alt', '1']);
    await ui.view('containers');
  });

  test('an engine error is shown to the user verbatim', async () => {
    const direct = await stack.daemon.request('GET', '/v1.44/containers/no-such-container-xyz/json');
    assert.ok(direct.status >= 400);
    const message = (JSON.parse(direct.body) as { message: string }).message;
    await ui.open('/containers/no-such-container-xyz/logs');
    await ui.view('container-detail');
    const shown = await ui.waitText('.error-box', (t) => t.length > 0);
    assert.equal(shown, message);
    await screenshot(stack.browser, 'engine-error');
  });

  test('create and remove a volume', async (t) => {
    if (waitingFor(t, 'volumes API')) return;
    await ui.open('/volumes');
    await ui.view('volumes');
    await ui.$('volume-name').setValue('e2e-vol');
    await ui.$('volume-create').click();
    const row = ui.row('data-volume', 'e2e-vol');
    await row.waitForDisplayed({ timeout: 10_000 });
    await screenshot(stack.browser, 'volumes-with-one');
    await row.$('[data-test="volume-remove"]').click();
    await ui.confirm();
    await row.waitForExist({ reverse: true, timeout: 10_000 });
    const r = await stack.daemon.request('GET', '/v1.44/volumes/e2e-vol');
    assert.equal(r.status, 404);
  });

  test('create, inspect and remove a network', async (t) => {
    if (waitingFor(t, 'networks API')) return;
    await ui.open('/networks');
    await ui.view('networks');
    await ui.$('networks-table').waitForDisplayed({ timeout: 10_000 });
    await ui.$('network-new').click();
    await stack.browser.$('#net-name').setValue('e2e-net');
    await stack.browser.$('#net-subnet').setValue('10.254.213.0/24');
    await ui.$('network-create').click();
    const row = ui.row('data-network', 'e2e-net');
    await row.waitForDisplayed({ timeout: 10_000 });
    assert.match(await row.getText(), /10\.254\.213\.0\/24/);
    await screenshot(stack.browser, 'networks-with-one');
    await row.$('[data-test="network-inspect"]').click();
    await ui.waitText('[role="dialog"]', (s) => s.includes('e2e-net') && s.includes('IPAM'));
    await screenshot(stack.browser, 'network-inspect');
    await stack.browser.keys('Escape');
    await stack.browser.$('[role="dialog"]').waitForExist({ reverse: true, timeout: 5000 });
    await row.$('[data-test="network-remove"]').click();
    await ui.confirm();
    await row.waitForExist({ reverse: true, timeout: 10_000 });
    assert.equal((await stack.daemon.request('GET', '/v1.44/networks/e2e-net')).status, 404);
  });

  test('pull an image from the local registry and watch its progress reach done', async (t) => {
    if (waitingFor(t, 'images API (pull)', 'test registry fixtures')) return;
    const { seedRegistry } = (await import(SEED)) as { seedRegistry: () => Promise<SeededRegistry> };
    const ref = process.env.BERTH_E2E_BUSYBOX ?? (await seedRegistry()).ref('busybox:latest');
    await ui.open('/images');
    await ui.view('images');
    await ui.$('pull-ref').setValue(ref);
    await ui.$('pull-submit').click();
    const done = stack.browser.$(`[data-test="transfer-done"]`);
    await done.waitForDisplayed({ timeout: 60_000 });
    await screenshot(stack.browser, 'images-pulled');
    const row = ui.row('data-image', ref);
    await row.waitForDisplayed({ timeout: 10_000 });
    // Only now can the scenarios below use it.
    busybox = ref;
  });

  test('run a container from the UI; terminal echoes; logs stream; stop and remove it', async (t) => {
    if (waitingFor(t, 'images API (pull)', 'test registry fixtures', 'containers API', 'exec API')) return;
    const busybox = pulled(t);
    if (!busybox) return;
    await ui.open('/images');
    await ui.view('images');
    const row = ui.row('data-image', busybox);
    await row.$('[data-test="image-run"]').click();
    await ui.$('run-name').setValue('e2e-web');
    // A shell loop that stays up and exits on SIGTERM (so Stop is quick); its stdout is its log.
    await ui
      .$('run-command')
      .setValue(`sh -c 'trap "exit 0" TERM; echo started; while :; do sleep 0.2; done'`);
    await ui.$('run-submit').click();
    await ui.view('container-detail');
    await ui.waitText('[data-test="detail-state"]', (s) => s === 'running', 20_000);
    await screenshot(stack.browser, 'container-logs');

    // Terminal: exec -it /bin/sh, type, see the output.
    await ui.open(`/containers/${await containerId('e2e-web')}/terminal`);
    await ui.waitText('[data-test="terminal-status"]', (s) => s === 'open', 20_000);
    await stack.browser.$('[data-test="terminal"] textarea').addValue('echo hello-$((40+2))\n');
    await ui.waitText('[data-test="terminal"] .xterm-rows', (s) => s.includes('hello-42'), 15_000);
    // Logs follow: something printed now shows up without reloading.
    await stack.browser.$('[data-test="terminal"] textarea').addValue('echo streamed-line > /proc/1/fd/1\n');
    await screenshot(stack.browser, 'container-terminal');
    await ui.open(`/containers/${await containerId('e2e-web')}/logs`);
    await ui.waitText('[data-test="log-output"]', (s) => s.includes('streamed-line'), 15_000);
    await ui.open(`/containers/${await containerId('e2e-web')}/stats`);
    await stack.browser.pause(2500);
    await screenshot(stack.browser, 'container-stats');
    await ui.open(`/containers/${await containerId('e2e-web')}/files`);
    if (features['archive API']) {
      await ui.$('files-table').waitForDisplayed({ timeout: 10_000 });
      await ui.waitText('[data-test="files-table"]', (s) => s.includes('bin/'));
    } else {
      // Without the archive API the tab shows the engine's own answer.
      await ui.waitText('[data-test="files-error"]', (s) => s === 'page not found');
      t.diagnostic('files tab: waiting for engine feature: archive API');
    }
    await screenshot(stack.browser, 'container-files');
    await ui.open(`/containers/${await containerId('e2e-web')}/inspect`);
    await screenshot(stack.browser, 'container-inspect');

    await ui.open('/containers');
    const crow = ui.row('data-name', 'e2e-web');
    await crow.waitForDisplayed({ timeout: 10_000 });
    await screenshot(stack.browser, 'containers-one-running');
    await crow.$('[data-test="row-stop"]').click();
    await ui.waitText('tr[data-name="e2e-web"] [data-test="container-state"]', (s) => s === 'exited', 30_000);
    // The row's buttons stay disabled until the stop request returns, which can come after the exit event
    // (the engine in a VM under TCG answers late): a click before then does nothing.
    await crow.$('[data-test="row-remove"]').waitForEnabled({ timeout: 15_000 });
    await crow.$('[data-test="row-remove"]').click();
    await ui.confirm();
    await crow.waitForExist({ reverse: true, timeout: 15_000 });
  });

  test('browse a volume and import files into it from a tar', async (t) => {
    if (
      waitingFor(
        t,
        'images API (pull)',
        'test registry fixtures',
        'containers API',
        'volumes API',
        'archive API',
        'archive upload API',
      )
    )
      return;
    if (!pulled(t)) return;
    assert.equal(
      (await stack.daemon.request('POST', '/v1.44/volumes/create', { Name: 'e2e-data' })).status,
      201,
    );
    const tarFile = path.join(stack.daemon.dataRoot + '-run', 'import.tar');
    writeFileSync(tarFile, ustar('hello.txt', 'hello from a tar\n'));
    await ui.open('/volumes/e2e-data');
    await ui.view('volume-detail');
    await ui.$('files-table').waitForDisplayed({ timeout: 15_000 });
    await ui.$('volume-import').setValue(tarFile);
    await ui.waitText('[data-test="files-table"]', (s) => s.includes('hello.txt'), 15_000);
    await screenshot(stack.browser, 'volume-browse');
    await ui.open('/volumes');
    // The helper container that mounted the volume is gone when the page closes.
    await stack.browser.waitUntil(
      async () =>
        !(await stack.daemon.request('GET', '/v1.44/containers/json?all=1')).body.includes('volume-browser'),
      { timeout: 10_000 },
    );
    assert.equal((await stack.daemon.request('DELETE', '/v1.44/volumes/e2e-data')).status, 204);
  });

  test('removing an image in use shows the engine error', async (t) => {
    if (waitingFor(t, 'images API (pull)', 'test registry fixtures', 'containers API')) return;
    const busybox = pulled(t);
    if (!busybox) return;
    const created = await stack.daemon.request('POST', '/v1.44/containers/create?name=e2e-holder', {
      Image: busybox,
      Cmd: ['true'],
    });
    assert.equal(created.status, 201, created.body);
    const direct = await stack.daemon.request(
      'DELETE',
      `/v1.44/images/${encodeURIComponent(busybox)}?noprune=1&force=0`,
    );
    assert.equal(direct.status, 409, direct.body);
    await ui.open('/images');
    await ui.view('images');
    const row = ui.row('data-image', busybox);
    await row.$('[data-test="image-remove"]').click();
    await ui.confirm();
    const shown = await ui.errorNotice();
    assert.equal(shown.replace(/\s*×$/, ''), (JSON.parse(direct.body) as { message: string }).message);
    await screenshot(stack.browser, 'image-in-use-error');
    await stack.daemon.request('DELETE', '/v1.44/containers/e2e-holder?force=1');
  });

  async function containerId(name: string): Promise<string> {
    const r = await stack.daemon.request('GET', `/v1.44/containers/${name}/json`);
    return (JSON.parse(r.body) as { Id: string }).Id;
  }
});

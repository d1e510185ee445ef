/**
 * What a new user met in their first hour (issue 15), in chromium against `berth serve` and a real berthd:
 * a build and an image load from the dashboard (binary bodies through the bridge), the terminal's size and
 * its shell ending with the tab, the exit code, ANSI colours in logs, MiB, the Networks view's containers,
 * image detail's Run/Remove and base layer, and rows that hold at 1024x640.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedRegistry } from '../fixtures/seed.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { Dashboard } from './support/dashboard.js';
import { CHROMEDRIVER, CHROMIUM, screenshot, startStack, type Stack } from './support/stack.js';

const skip =
  requirement(
    existsSync(CHROMIUM) && existsSync(CHROMEDRIVER),
    `chromium and chromium-driver (apt) are needed at ${CHROMIUM} and ${CHROMEDRIVER}`,
  ) ?? requirement(IS_ROOT, 'containers need root');

describe('the first hour (web mode, chromium, real berthd)', { skip }, () => {
  let stack: Stack;
  let ui: Dashboard;
  let busybox: string;
  let scratch: string;
  const api = (method: string, p: string, body?: unknown) => stack.daemon.request(method, `/v1.44${p}`, body);
  const json = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await api(method, p, body);
    assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  };
  /** Creates and starts a container through the API (setup, not what is tested). */
  const run = async (name: string, cmd: string[], extra: Record<string, unknown> = {}) => {
    const { Id } = await json<{ Id: string }>('POST', `/containers/create?name=${name}`, {
      Image: busybox,
      Cmd: cmd,
      ...extra,
    });
    const s = await api('POST', `/containers/${Id}/start`);
    assert.equal(s.status, 204, s.body);
    return Id;
  };
  const terminalText = () => stack.browser.$('[data-test="terminal"] .xterm-rows').getText();
  const type = (text: string) => stack.browser.$('[data-test="terminal"] textarea').addValue(text);

  before(async () => {
    stack = await startStack();
    ui = new Dashboard(stack.browser);
    scratch = path.join(stack.daemon.dataRoot + '-run', 'first-hour');
    mkdirSync(scratch, { recursive: true });
    busybox = process.env.BERTH_E2E_BUSYBOX ?? (await seedRegistry()).ref('busybox:latest');
    const p = await api('POST', `/images/create?fromImage=${encodeURIComponent(busybox)}`);
    assert.equal(p.status, 200, p.body);
    await stack.browser.url(`${stack.url}?token=${stack.token}`);
    await ui.view('containers');
  });
  after(async () => {
    await stack?.close();
  });

  test('build from a folder in the dashboard: the context (binary file included) reaches the engine intact', async () => {
    const dir = path.join(scratch, 'ctx');
    mkdirSync(dir, { recursive: true });
    const blob = Buffer.alloc(4096);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7) % 256;
    writeFileSync(path.join(dir, 'blob.bin'), blob);
    const md5 = createHash('md5').update(blob).digest('hex');
    // The build fails unless the bytes arrived exactly.
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      `FROM ${busybox}\nCOPY blob.bin /blob.bin\nRUN test "$(md5sum /blob.bin | cut -c1-32)" = "${md5}"\n`,
    );
    await ui.open('/images');
    await ui.view('images');
    await ui.$('build-open').click();
    await ui.$('build-folder').setValue(dir);
    await stack.browser.$('#build-tag').setValue('e2e-built:1');
    await stack.browser.$('button=Build').click();
    await ui.waitText('.buildlog', (t) => /Successfully built|Built sha256:/.test(t), 60_000);
    assert.equal(await ui.$('build-error').isExisting(), false);
    await screenshot(stack.browser, 'build-done');
    assert.equal((await api('GET', '/images/e2e-built:1/json')).status, 200);
    await stack.browser.keys('Escape');
  });

  test('docker load from a file in the dashboard (an image archive through the bridge)', async () => {
    assert.equal(
      (await api('POST', `/images/${encodeURIComponent(busybox)}/tag?repo=e2e-load&tag=1`)).status,
      201,
    );
    const saved = await new Promise<Buffer>((resolve, reject) => {
      // The archive is binary: read it raw, not through the helper's text body.
      import('node:http')
        .then(({ request }) =>
          request({ socketPath: stack.daemon.socket, path: '/v1.44/images/e2e-load:1/get' }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          })
            .on('error', reject)
            .end(),
        )
        .catch(reject);
    });
    const file = path.join(scratch, 'load.tar');
    writeFileSync(file, saved);
    assert.equal((await api('DELETE', '/images/e2e-load:1')).status, 200);
    await ui.open('/images');
    await ui.view('images');
    // The file input sits behind the "Load" button (it opens the picker); WebDriver types into it directly.
    await stack.browser.execute(() =>
      document.querySelector('[data-test="load-file"]')?.removeAttribute('hidden'),
    );
    await ui.$('load-file').setValue(file);
    await stack.browser.waitUntil(async () => (await api('GET', '/images/e2e-load:1/json')).status === 200, {
      timeout: 30_000,
      timeoutMsg: 'the loaded image never appeared',
    });
  });

  test('the terminal is sized to its pane at start and on resize; closing it ends the shell', async () => {
    const id = await run('e2e-term', ['sleep', '3600']);
    await ui.open(`/containers/${id}/terminal`);
    await ui.waitText('[data-test="terminal-status"]', (s) => s === 'open', 20_000);
    // 'open' comes before the exec starts; the pane records the TTY size once it has. Under TCG (the VM run) a
    // loaded machine took more than the 15 s the first echo was given.
    await stack.browser.waitUntil(async () => (await ui.$('terminal').getAttribute('data-cols')) !== null, {
      timeout: 60_000,
      timeoutMsg: 'the shell never started',
    });
    const size = async (): Promise<[number, number]> => {
      const marker = `sz${Date.now() % 100000}`;
      await type(`echo ${marker} $(stty size)\n`);
      const t = await ui.waitText('[data-test="terminal"] .xterm-rows', (s) =>
        new RegExp(`^${marker} \\d+ \\d+`, 'm').test(s),
      );
      const m = new RegExp(`^${marker} (\\d+) (\\d+)`, 'm').exec(t)!;
      return [Number(m[1]), Number(m[2])];
    };
    const [rows, cols] = await size();
    assert.ok(cols > 80 && rows > 24, `the TTY is ${cols}x${rows}, not the pane's size`);
    await stack.browser.setViewport({ width: 1600, height: 1000 });
    await stack.browser.waitUntil(async () => (await size())[1] > cols, {
      timeout: 10_000,
      timeoutMsg: 'the TTY kept its width after the pane grew',
    });
    await stack.browser.setViewport({ width: 1280, height: 800 });
    await screenshot(stack.browser, 'terminal-sized');
    assert.match(await terminalText(), /sz\d+ \d+ \d+/);
    // Leaving the tab closes the session: the shell must not stay behind in the container.
    const shells = async () =>
      (
        await json<{ Processes: string[][] }>('GET', `/containers/${id}/top?ps_args=-eo%20pid,args`)
      ).Processes.filter((p) => /(^|\/)sh( |$)/.test(p.at(-1) ?? ''));
    assert.ok((await shells()).length > 0, 'the shell runs while the terminal is open');
    await ui.open('/containers');
    await stack.browser.waitUntil(async () => (await shells()).length === 0, {
      timeout: 15_000,
      timeoutMsg: 'the shell still runs after its terminal closed',
    });
    await api('DELETE', `/containers/${id}?force=1`);
  });

  test('an exited container shows its exit code; logs render ANSI colours, not escape codes', async () => {
    const id = await run('e2e-exit', ['sh', '-c', "printf '\\033[31mred-words\\033[0m plain\\n'; exit 3"]);
    await json('POST', `/containers/${id}/wait`);
    await ui.open(`/containers/${id}/logs`);
    await ui.view('container-detail');
    await ui.waitText('[data-test="exit-code"]', (t) => t === 'exit code 3');
    const logs = await ui.waitText('[data-test="log-output"]', (t) => t.includes('red-words'));
    assert.doesNotMatch(logs, /\[31m|\u001b/);
    const red = stack.browser.$('[data-test="log-output"] .ansi-fg-1');
    assert.equal(await red.getText(), 'red-words');
    await screenshot(stack.browser, 'logs-ansi-exit-code');
    await api('DELETE', `/containers/${id}?force=1`);
  });

  test('a 64 MiB limit reads "64 MiB"; the Networks view lists the containers attached', async () => {
    const id = await run('e2e-mem', ['sleep', '3600'], { HostConfig: { Memory: 64 * 1024 * 1024 } });
    await ui.open(`/containers/${id}/stats`);
    await ui.waitText('[data-test="stats-charts"]', (t) => /limit 64(\.0)? MiB/.test(t), 20_000);
    const { Id: net } = await json<{ Id: string }>('POST', '/networks/create', { Name: 'e2e-fh-net' });
    assert.equal((await api('POST', `/networks/${net}/connect`, { Container: id })).status, 200);
    await ui.open('/networks');
    await ui.view('networks');
    const cell = ui.row('data-network', 'e2e-fh-net').$('[data-test="network-containers"]');
    await stack.browser.waitUntil(async () => (await cell.getText()) === '1', { timeout: 10_000 });
    assert.match(String(await cell.getAttribute('title')), /e2e-mem/);
    await api('DELETE', `/containers/${id}?force=1`);
    await api('DELETE', '/networks/e2e-fh-net');
  });

  test('image detail: every layer says what made it, and Run and Remove are there', async () => {
    const { Id } = await json<{ Id: string }>('GET', `/images/${encodeURIComponent(busybox)}/json`);
    await ui.open(`/images/${encodeURIComponent(Id)}`);
    await ui.$('layers-table').waitForDisplayed({ timeout: 10_000 });
    const cells = await stack.browser.$$('[data-test="layer-instruction"]').map((c) => c.getText());
    assert.ok(cells.length > 0);
    for (const c of cells) assert.notEqual(c.trim(), '', 'no blank instruction');
    await ui.$('detail-remove').waitForDisplayed();
    await ui.$('detail-run').click();
    await ui.$('run-dialog').waitForDisplayed({ timeout: 5000 });
    await screenshot(stack.browser, 'image-detail-run');
    await stack.browser.keys('Escape');
  });

  test('at 1024x640 the toolbar stays on one line and every row action is on screen', async () => {
    const id = await run('e2e-a-container-with-a-rather-long-name', ['sleep', '3600']);
    await stack.browser.setViewport({ width: 1024, height: 640 });
    try {
      await ui.open('/containers');
      await ui.view('containers');
      const row = ui.row('data-name', 'e2e-a-container-with-a-rather-long-name');
      await row.waitForDisplayed({ timeout: 10_000 });
      const geometry = await stack.browser.execute(() => {
        const tops = Array.from(document.querySelectorAll('[data-view="containers"] .toolbar > *'))
          .filter((e) => (e as HTMLElement).offsetParent !== null)
          .map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
        const actions = Array.from(document.querySelectorAll('tr[data-name] .row-actions button'))
          .filter((b) => (b as HTMLElement).offsetParent !== null)
          .map((b) => {
            const r = b.getBoundingClientRect();
            return { label: b.getAttribute('aria-label') ?? b.textContent, right: r.right, width: r.width };
          });
        return { tops, actions, width: document.documentElement.clientWidth };
      });
      assert.ok(
        Math.max(...geometry.tops) - Math.min(...geometry.tops) < 12,
        `toolbar wraps: ${geometry.tops.join(', ')}`,
      );
      assert.ok(geometry.actions.length > 0);
      for (const a of geometry.actions)
        assert.ok(
          a.width > 0 && a.right <= geometry.width,
          `clipped: ${JSON.stringify(a)} in ${geometry.width}`,
        );
      await screenshot(stack.browser, 'containers-1024x640-actions');
    } finally {
      await stack.browser.setViewport({ width: 1280, height: 800 });
      await api('DELETE', `/containers/${id}?force=1`);
    }
  });
});

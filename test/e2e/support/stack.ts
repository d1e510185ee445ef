/**
 * The e2e stack: a real berthd (its own data root and socket), `berth serve` in front of it, and Debian's
 * chromium driven by WebdriverIO through Debian's chromedriver. Nothing downloads a browser or driver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';
import { httpOverSocket, startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { BIN, TEST_OUTPUT } from '../../helpers/paths.js';

/**
 * BERTH_E2E_SOCKET points the dashboard suites at an engine someone else runs (the VM test runs them once
 * against its guest) instead of a berthd of their own; BERTH_E2E_BUSYBOX then names the busybox it can pull.
 */
export const EXTERNAL_ENGINE = process.env.BERTH_E2E_SOCKET;
export const SCREENSHOTS = path.join(TEST_OUTPUT, EXTERNAL_ENGINE ? 'screenshots-vm' : 'screenshots');
export const CHROMIUM = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMEDRIVER = process.env.BERTH_CHROMEDRIVER ?? '/usr/bin/chromedriver';

/** The engine a suite drives: its socket, raw requests, and a host folder for files the browser uploads. */
export type EngineUnderTest = Pick<TestDaemon, 'dataRoot' | 'socket' | 'request' | 'destroy'>;

async function engineUnderTest(): Promise<EngineUnderTest> {
  const socket = EXTERNAL_ENGINE;
  if (!socket) return startTestDaemon();
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
  mkdirSync(dataRoot + '-run');
  return {
    dataRoot,
    socket,
    request: (m, p, b, h) => httpOverSocket(socket, m, p, b, h),
    async destroy() {
      await fsp.rm(dataRoot, { recursive: true, force: true });
      await fsp.rm(dataRoot + '-run', { recursive: true, force: true });
    },
  };
}

export interface Stack {
  daemon: EngineUnderTest;
  serve: ChildProcess;
  url: string;
  token: string;
  browser: WebdriverIO.Browser;
  close(): Promise<void>;
}

/** `berth serve` for `socket`; without one, for whatever it picks from `env` (BERTH_HOME, DOCKER_HOST). */
export function startServe(
  socket?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ proc: ChildProcess; url: string; token: string; out: () => string }> {
  const proc = spawn(path.join(BIN, 'berth'), ['serve', ...(socket ? ['-H', `unix://${socket}`] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`berth serve printed no URL:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/)\?token=(\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ proc, url: m[1], token: m[2], out: () => out });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`berth serve exited with ${code}:\n${out}`)));
  });
}

export async function startBrowser(): Promise<WebdriverIO.Browser> {
  return remote({
    logLevel: 'error',
    capabilities: {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-dev-shm-usage',
          '--window-size=1280,860',
        ],
      },
      'wdio:chromedriverOptions': { binary: CHROMEDRIVER },
    },
  });
}

/** Ends the browser session; a chromedriver that stopped answering must not hold an after() hook (and CI) for ever. */
export async function endSession(browser: WebdriverIO.Browser | undefined): Promise<void> {
  if (!browser) return;
  await Promise.race([
    browser.deleteSession().catch(() => undefined),
    new Promise((r) => setTimeout(r, 15_000).unref()),
  ]);
}

export async function startStack(): Promise<Stack> {
  const daemon = await engineUnderTest();
  let serve: ChildProcess | undefined;
  try {
    const s = await startServe(daemon.socket);
    serve = s.proc;
    const browser = await startBrowser();
    mkdirSync(SCREENSHOTS, { recursive: true });
    return {
      daemon,
      serve: s.proc,
      url: s.url,
      token: s.token,
      browser,
      async close() {
        await endSession(browser);
        s.proc.kill('SIGTERM');
        await daemon.destroy();
      },
    };
  } catch (e) {
    serve?.kill('SIGTERM');
    await daemon.destroy();
    throw e;
  }
}

export async function screenshot(browser: WebdriverIO.Browser, name: string): Promise<string> {
  // Suites that start their own stack (host, kube-settings) may be the first to write here.
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  writeFileSync(file, Buffer.from(await browser.takeScreenshot(), 'base64'));
  return file;
}

/** True when the engine serves this route (berthd answers unknown routes with 404 "page not found"). */
export async function engineHas(
  daemon: Pick<TestDaemon, 'request'>,
  method: string,
  urlPath: string,
): Promise<boolean> {
  const r = await daemon.request(method, urlPath);
  return !(r.status === 404 && r.body.includes('page not found')) && r.status !== 405;
}

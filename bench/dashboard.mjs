#!/usr/bin/env node
// Dashboard: first meaningful paint in web mode (real berthd behind `berth serve`, Debian's chromium),
// time to render the container list with 300 containers (a synthetic engine answers /containers/json,
// fed through the real bridge, client and store), against a peer measured in the same run: the same 300
// rows built with plain DOM calls in the same page. Plus the renderer bundle size.
// The Cluster views: 300 pods rendered and a watch event's way to the screen, beside kubectl get -w.
// Usage (after npm run build): node bench/dashboard.mjs [runs]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { remote } from 'webdriverio';
import { benchClusterDashboard } from './lib/cluster-dashboard.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[2] ?? 5);
const ROWS = 300;
mkdirSync(path.join(repo, 'test-output/screenshots'), { recursive: true });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-dash-'));
const children = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGTERM');
};
process.on('exit', cleanup);

function waitForSocket(sock, ms = 15000) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () =>
      http
        .get({ socketPath: sock, path: '/_ping' }, (r) => (r.resume(), resolve()))
        .on('error', () =>
          Date.now() - t0 > ms ? reject(new Error(`no engine on ${sock}`)) : setTimeout(tick, 50),
        );
    tick();
  });
}

function serve(sock) {
  const p = spawn(path.join(repo, 'bin/berth'), ['serve', '-H', `unix://${sock}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = /Open: (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    p.once('exit', (c) => reject(new Error(`berth serve exited ${c}`)));
  });
}

/** Answers like berthd for the calls the dashboard makes; /containers/json returns ROWS containers. */
function syntheticEngine(sock) {
  const now = Math.floor(Date.now() / 1000);
  const states = ['created', 'exited', 'created', 'exited', 'paused'];
  const containers = Array.from({ length: ROWS }, (_, i) => ({
    Id: (i.toString(16).padStart(8, '0') + 'f'.repeat(56)).slice(0, 64),
    Names: [`/svc-${i}`],
    Image: `127.0.0.1:5000/app-${i % 7}:latest`,
    ImageID: 'sha256:' + 'a'.repeat(64),
    Command: 'sh -c serve',
    Created: now - i * 60,
    Ports: i % 3 ? [] : [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8000 + i, Type: 'tcp' }],
    Labels: i % 4 ? {} : { 'com.docker.compose.project': `proj-${i % 10}` },
    State: states[i % states.length],
    Status: 'Exited (0) 1 minute ago',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  }));
  const json = (res, body, status = 200) =>
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  const srv = http.createServer((req, res) => {
    const p = req.url.replace(/^\/v1\.44/, '').split('?')[0];
    if (p === '/_ping') return res.end('OK');
    if (p === '/version') return json(res, { Version: 'synthetic', ApiVersion: '1.44' });
    if (p === '/info')
      return json(res, { NCPU: 2, MemTotal: 1 << 30, CgroupDriver: 'cgroupfs', CgroupVersion: '2' });
    if (p === '/events') return res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    if (p === '/containers/json') return json(res, containers);
    if (p === '/images/json' || p === '/networks') return json(res, []);
    if (p === '/volumes') return json(res, { Volumes: [], Warnings: null });
    return json(res, { message: 'page not found' }, 404);
  });
  return new Promise((resolve) => srv.listen(sock, () => resolve(srv)));
}

function bundle() {
  const dir = path.join(repo, 'renderer/dist/assets');
  const html = readFileSync(path.join(repo, 'renderer/dist/index.html'), 'utf8');
  let total = 0;
  let totalGz = 0;
  let initial = 0;
  let initialGz = 0;
  for (const f of readdirSync(dir)) {
    const buf = readFileSync(path.join(dir, f));
    const gz = gzipSync(buf).length;
    total += buf.length;
    totalGz += gz;
    if (html.includes(`assets/${f}`)) {
      initial += buf.length;
      initialGz += gz;
    }
  }
  return {
    total,
    totalGz,
    initial,
    initialGz,
    files: readdirSync(dir).length,
    xtermChunk: readdirSync(dir)
      .filter((f) => f.startsWith('TerminalPane') && f.endsWith('.js'))
      .map((f) => statSync(path.join(dir, f)).size)[0],
  };
}

const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

const browser = await remote({
  logLevel: process.env.WDIO_LOG ?? 'error',
  capabilities: {
    browserName: 'chrome',
    'goog:chromeOptions': {
      binary: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--window-size=1280,860',
      ],
    },
    'wdio:chromedriverOptions': { binary: '/usr/bin/chromedriver' },
  },
});

try {
  // 1. First meaningful paint against a real berthd: navigation start → the containers view shows data
  //    (its table, empty state or the engine's error), read from User Timing and paint entries.
  const realSock = path.join(tmp, 'real.sock');
  const d = spawn(
    path.join(repo, 'bin/berthd'),
    ['--data-root', path.join(tmp, 'data'), '-H', `unix://${realSock}`],
    { stdio: 'ignore' },
  );
  children.push(d);
  await waitForSocket(realSock);
  const realUrl = await serve(realSock);
  await browser.url(realUrl); // sets the cookie
  const fmp = [];
  const fcp = [];
  for (let i = 0; i < RUNS; i++) {
    // A query that changes each run makes it a page load (a hash change alone keeps the page and its marks).
    await browser.url(`${realUrl.replace(/\?token=.*/, '')}?run=${i}#/containers`);
    await browser.waitUntil(
      () =>
        browser.execute(
          () =>
            !!document.querySelector(
              '[data-view="containers"] table, [data-view="containers"] .empty, [data-view="containers"] .error-box',
            ),
        ),
      { timeout: 10000 },
    );
    const t = await browser.execute(() => {
      const e =
        performance.getEntriesByName('berth:containers-rendered')[0] ??
        performance.getEntriesByName('berth:containers-loaded')[0];
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return { data: e ? e.startTime : performance.now(), fcp: paint ? paint.startTime : NaN };
    });
    // Meaningful = the data is in the DOM and something has been painted: the later of the two.
    fmp.push(Number.isNaN(t.fcp) ? t.data : Math.max(t.data, t.fcp));
    fcp.push(t.fcp);
  }

  // 2. 300 rows through the real bridge/client/store from a synthetic engine.
  const synthSock = path.join(tmp, 'synthetic.sock');
  await syntheticEngine(synthSock);
  const synthUrl = await serve(synthSock);
  await browser.url(synthUrl);
  const rows = [];
  const peer = [];
  for (let i = 0; i < RUNS; i++) {
    await browser.url(`${synthUrl.replace(/\?token=.*/, '')}?run=${i}#/containers`);
    await browser.waitUntil(
      () => browser.execute((n) => document.querySelectorAll('tr[data-row]').length === n, ROWS),
      { timeout: 15000 },
    );
    rows.push(
      await browser.execute(() => {
        // This load's first list arrival and the render that followed it.
        const a = performance.getEntriesByName('berth:containers-loaded')[0];
        const b = performance
          .getEntriesByName('berth:containers-rendered')
          .find((e) => e.startTime >= a.startTime);
        return b.startTime - a.startTime;
      }),
    );
    // Peer: the same rows and columns built with plain DOM calls, then laid out, in the same page.
    peer.push(
      await browser.execute((n) => {
        const src = [...document.querySelectorAll('tr[data-row]')].map((tr) =>
          [...tr.children].map((td) => td.textContent),
        );
        const t0 = performance.now();
        const table = document.createElement('table');
        table.className = 'list';
        for (let r = 0; r < n; r++) {
          const tr = document.createElement('tr');
          for (const text of src[r]) {
            const td = document.createElement('td');
            td.textContent = text;
            tr.appendChild(td);
          }
          table.appendChild(tr);
        }
        document.body.appendChild(table);
        void document.body.offsetHeight;
        const dt = performance.now() - t0;
        table.remove();
        return dt;
      }, ROWS),
    );
  }
  await browser
    .saveScreenshot(path.join(repo, 'test-output/screenshots/bench-containers-300.png'))
    .catch(() => undefined);

  // 3. The Cluster views against a real berth-kube (lib/cluster-dashboard.mjs prints its own lines).
  await benchClusterDashboard({ browser, repo, tmp, engineSocket: realSock, children, runs: RUNS });

  const b = bundle();
  const fmpMed = median(fmp);
  const rowsMed = median(rows);
  const peerMed = median(peer);
  console.log(
    `dashboard first meaningful paint (web mode, real berthd): median ${fmpMed.toFixed(0)} ms over ${RUNS} loads (first contentful paint ${median(fcp).toFixed(0)} ms)   target < 1000 ms: ${fmpMed < 1000 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `container list, ${ROWS} rows (data arrival → rows laid out): median ${rowsMed.toFixed(1)} ms; plain-DOM peer ${peerMed.toFixed(1)} ms; ratio ${(rowsMed / peerMed).toFixed(2)}x   target < 300 ms: ${rowsMed < 300 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `renderer bundle: initial ${(b.initial / 1024).toFixed(1)} KiB (${(b.initialGz / 1024).toFixed(1)} KiB gzip), all ${b.files} assets ${(b.total / 1024).toFixed(1)} KiB (${(b.totalGz / 1024).toFixed(1)} KiB gzip); xterm chunk ${(b.xtermChunk / 1024).toFixed(1)} KiB loaded only with the Terminal tab`,
  );
} finally {
  await browser.deleteSession().catch(() => undefined);
  cleanup();
  rmSync(tmp, { recursive: true, force: true });
  // The synthetic engine holds an /events stream open; end the run explicitly.
  setTimeout(() => process.exit(0), 100);
}

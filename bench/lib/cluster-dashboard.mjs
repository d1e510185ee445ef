// The Cluster views' figures for bench/dashboard.mjs: the pod list with 300 pods (data arrival → rows laid out,
// beside the same rows built with plain DOM calls in the same page), and a watch event's way to the screen
// (the API write → the row in the DOM, through berth serve's bridge), beside kubectl 1.32 `get -w` watching
// the same server (the write → its line printed), measured in the same run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const PODS = 300;
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

function waitOutput(proc, re, what, ms = 30000) {
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not ready\n${out}`)), ms);
    const on = (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
  });
}

/** A client for berth-kube's API with the kubeconfig's client certificate (what the writes go through). */
function apiClient(kubeconfig) {
  const text = readFileSync(kubeconfig, 'utf8');
  const field = (k) => Buffer.from(new RegExp(`${k}: (\\S+)`).exec(text)[1], 'base64');
  const server = new URL(/server: (\S+)/.exec(text)[1]);
  const agent = new https.Agent({
    ca: field('certificate-authority-data'),
    cert: field('client-certificate-data'),
    key: field('client-key-data'),
    keepAlive: true,
  });
  return (method, p, body) =>
    new Promise((resolve, reject) => {
      const r = https.request(
        {
          host: server.hostname,
          port: server.port,
          method,
          path: p,
          agent,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () =>
            res.statusCode < 300 ? resolve(b) : reject(new Error(`${res.statusCode}: ${b}`)),
          );
        },
      );
      r.on('error', reject);
      r.end(body);
    });
}

const podBody = (name) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { bench: 'dash' } },
    spec: { containers: [{ name: 'c', image: `registry.example/app-${name}:1` }] },
  });

export async function benchClusterDashboard({ browser, repo, tmp, engineSocket, children, runs }) {
  const dir = path.join(tmp, 'kube');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const kube = spawn(
    path.join(repo, 'bin/berth-kube'),
    // Any free port (the kubeconfig names the one bound); no Ingress listeners on the host's 80/443.
    [
      '--data-dir',
      path.join(dir, 'data'),
      '--kubeconfig',
      kubeconfig,
      '--listen',
      '127.0.0.1:0',
      '--ingress-http',
      'off',
      '--ingress-https',
      'off',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(kube);
  await waitOutput(kube, /"API server ready"/, 'berth-kube');
  const api = apiClient(kubeconfig);
  // 300 pods (no kubelet here: they stay Pending, which is all a list needs), 8 writes at a time.
  const names = Array.from({ length: PODS }, (_, i) => `pod-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 8)
    await Promise.all(
      names.slice(i, i + 8).map((n) => api('POST', '/api/v1/namespaces/default/pods', podBody(n))),
    );

  const serve = spawn(path.join(repo, 'bin/berth'), ['serve', '-H', `unix://${engineSocket}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KUBECONFIG: kubeconfig },
  });
  children.push(serve);
  const url = (await waitOutput(serve, /Open: (\S+)/, 'berth serve'))[1];
  const base = url.replace(/\?token=.*/, '');
  await browser.url(url); // the token becomes a cookie
  await browser.execute(() => {
    localStorage.setItem('berth.cluster.context', 'berth');
    localStorage.setItem('berth.cluster.namespace', 'default');
  });
  /** The rows are there, or a screenshot and the page's words say why not. */
  const waitRows = async (n, what) => {
    try {
      await browser.waitUntil(
        () =>
          browser.execute(
            (k) => document.querySelectorAll('[data-test="pods-table"] tr[data-row]').length === k,
            n,
          ),
        { timeout: 30000 },
      );
    } catch (e) {
      await browser
        .saveScreenshot(path.join(repo, 'test-output/screenshots/bench-pods-failed.png'))
        .catch(() => undefined);
      const page = await browser.execute(() => `${location.href}\n${document.body.innerText.slice(0, 1500)}`);
      throw new Error(`${what}: ${e.message}\n${page}`);
    }
  };

  const render = [];
  const peer = [];
  for (let i = 0; i < runs; i++) {
    // A query that changes each run makes it a page load (a hash change alone keeps the page and its marks).
    await browser.url(`${base}?run=${i}#/cluster/pods`);
    await waitRows(PODS, `the pod list with ${PODS} pods (run ${i + 1})`);
    render.push(
      await browser.execute((n) => {
        // The update that brought the full list: the first mark with all rows in it, and its render after.
        const loaded = performance.getEntriesByName('berth:pods-loaded');
        const rendered = performance.getEntriesByName('berth:pods-rendered');
        const a = loaded.find((e) => e.detail === n) ?? loaded.at(-1);
        const b = rendered.find((e) => e.startTime >= a.startTime);
        return b.startTime - a.startTime;
      }, PODS),
    );
    peer.push(
      await browser.execute(() => {
        const src = [...document.querySelectorAll('[data-test="pods-table"] tr[data-row]')].map((tr) =>
          [...tr.children].map((td) => td.textContent),
        );
        const t0 = performance.now();
        const table = document.createElement('table');
        table.className = 'list';
        for (const cells of src) {
          const tr = document.createElement('tr');
          for (const text of cells) {
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
      }),
    );
  }
  await browser
    .saveScreenshot(path.join(repo, 'test-output/screenshots/bench-pods-300.png'))
    .catch(() => undefined);

  // Watch latency: the page notes when each new row appears; kubectl get -w notes when it prints the line.
  const watcher = spawn(
    KUBECTL,
    ['--kubeconfig', kubeconfig, 'get', 'pods', '-w', '--no-headers', '--watch-only'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir },
    },
  );
  children.push(watcher);
  const printed = new Map();
  let buf = '';
  watcher.stdout.on('data', (d) => {
    buf += d;
    for (const m of buf.matchAll(/^(lat-\d+)\s/gm)) if (!printed.has(m[1])) printed.set(m[1], Date.now());
  });
  await new Promise((r) => setTimeout(r, 1500)); // kubectl's discovery and first list, before the writes
  const toScreen = [];
  const toKubectl = [];
  for (let i = 0; i < Math.max(runs, 10); i++) {
    const name = `lat-${i}`;
    await browser.execute((n) => {
      window.__seen = undefined;
      const obs = new MutationObserver(() => {
        if (document.querySelector(`tr[data-name="${n}"]`)) {
          window.__seen = performance.timeOrigin + performance.now();
          obs.disconnect();
        }
      });
      obs.observe(document.body, { childList: true, subtree: true });
    }, name);
    const t0 = Date.now();
    await api('POST', '/api/v1/namespaces/default/pods', podBody(name));
    await browser.waitUntil(() => browser.execute(() => window.__seen !== undefined), { timeout: 10000 });
    toScreen.push((await browser.execute(() => window.__seen)) - t0);
    const deadline = Date.now() + 5000;
    while (!printed.has(name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (printed.has(name)) toKubectl.push(printed.get(name) - t0);
  }
  watcher.kill('SIGTERM');
  const r = median(render);
  const p = median(peer);
  const s = median(toScreen);
  const k = toKubectl.length ? median(toKubectl) : NaN;
  console.log(
    `cluster pod list, ${PODS} pods (data arrival → rows laid out): median ${r.toFixed(1)} ms; plain-DOM peer ${p.toFixed(1)} ms; ratio ${(r / p).toFixed(2)}x   target < 300 ms: ${r < 300 ? 'OK' : 'MISSED'}`,
  );
  console.log(
    `watch event → screen (API write → pod row in the DOM, via berth serve): median ${s.toFixed(1)} ms over ${toScreen.length}; kubectl 1.32 get -w (write → line printed) ${k.toFixed(1)} ms; ratio ${(s / k).toFixed(2)}x   target < 100 ms: ${s < 100 ? 'OK' : 'MISSED'}`,
  );
}

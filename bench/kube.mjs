#!/usr/bin/env node
// berth-kube API server figures, against the anchors' published ones (no Kubernetes server can run here):
//   /readyz after process start (first start: PKI made; restart: reused)  anchor: k3s ~15 s, kind ~21 s to a usable cluster
//   idle RSS of berth-kube                                                anchor: a k3s server idles at ~550 MiB
//   `kubectl get pods` round trip (kubectl's own request timing, and the whole process)
//   1,000 ConfigMap creates over one keep-alive HTTPS agent (16 in flight)
//   100 concurrent watchers, each seeing every one of 200 events
// then the kubelet's figures (bench/lib/kubelet.mjs) and Services' throughput (bench/lib/services.mjs), as root.
// BERTH_KUBE_DATASTORE=memory:// measures without the durable store. `--services` runs only the Services' part.
// Needs `npm run build`.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--services')) {
  const { benchServices } = await import('./lib/services.mjs');
  await benchServices();
  process.exit(0);
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-kube-'));
const DATASTORE = process.env.BERTH_KUBE_DATASTORE;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

function freePort() {
  return new Promise((resolve) => {
    const s = https.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(port, p, agentOpts = {}) {
  return new Promise((resolve) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: p, rejectUnauthorized: false, ...agentOpts },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
  });
}

async function start(port) {
  const t0 = performance.now();
  const args = [
    '--data-dir',
    path.join(WORK, 'data'),
    '--kubeconfig',
    path.join(WORK, 'kubeconfig'),
    '--listen',
    `127.0.0.1:${port}`,
  ];
  if (DATASTORE) args.push('--datastore-endpoint', DATASTORE);
  const proc = spawn(path.join(REPO, 'bin/berth-kube'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`berth-kube exited: ${err}`);
    if ((await get(port, '/readyz')) === 200) return { proc, readyMs: performance.now() - t0 };
    await sleep(2);
  }
}

function stop(proc) {
  return new Promise((resolve) => {
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
}

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

function credentials() {
  const kc = fs.readFileSync(path.join(WORK, 'kubeconfig'), 'utf8');
  const field = (n) => Buffer.from(new RegExp(`${n}: (\\S+)`).exec(kc)[1], 'base64').toString();
  return {
    ca: field('certificate-authority-data'),
    cert: field('client-certificate-data'),
    key: field('client-key-data'),
  };
}

function request(agent, port, method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: p,
        agent,
        headers: { 'Content-Type': 'application/json', ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function kubectl(args) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    execFile(
      KUBECTL,
      ['--kubeconfig', path.join(WORK, 'kubeconfig'), '--cache-dir', path.join(WORK, 'cache'), ...args],
      { env: { ...process.env, HOME: WORK } },
      (e, stdout, stderr) => resolve({ ms: performance.now() - t0, stdout, stderr }),
    );
  });
}

const port = await freePort();
console.log(`berth-kube API server (datastore: ${DATASTORE ?? 'default'})`);
const first = await start(port);
await stop(first.proc);
const { proc, readyMs } = await start(port);
console.log(
  `/readyz after process start: first start ${fmt(first.readyMs)}, restart ${fmt(readyMs)}   (target < 300 ms; k3s ~15 s, kind ~21 s to a usable cluster)`,
);
await sleep(3000);
console.log(
  `idle RSS: ${rssMiB(proc.pid).toFixed(1)} MiB   (target < 60 MiB; a k3s server idles at ~550 MiB)`,
);

await kubectl(['get', 'pods']); // discovery cache warm-up
const runs = [];
const totals = [];
for (let i = 0; i < 10; i++) {
  const r = await kubectl(['get', 'pods', '-v=6']);
  const m = /GET https:\S+\/pods\?limit=500 200 OK in (\d+) milliseconds/.exec(r.stderr);
  if (m) runs.push(Number(m[1]));
  totals.push(r.ms);
}
console.log(
  `kubectl get pods: request ${fmt(median(runs))} (median of ${runs.length}), whole kubectl process ${fmt(median(totals))}   (target < 30 ms)`,
);

const creds = credentials();
const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ...creds });
const t0 = performance.now();
let next = 0;
let failures = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < 1000) {
      const i = next++;
      const r = await request(
        agent,
        port,
        'POST',
        '/api/v1/namespaces/default/configmaps',
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `bench-${i}` },
          data: { i: String(i) },
        }),
      );
      if (r.status !== 201) failures++;
    }
  }),
);
const createMs = performance.now() - t0;
console.log(
  `1,000 ConfigMap creates: ${fmt(createMs)} (${Math.round(1000 / (createMs / 1000))}/s, ${failures} failed)   (target < 3 s)`,
);

const list = JSON.parse(
  (await request(agent, port, 'GET', '/api/v1/namespaces/default/configmaps?limit=1')).body,
);
const rv = list.metadata.resourceVersion;
const WATCHERS = 100;
const EVENTS = 200;
const watchAgent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ...creds });
const counts = new Array(WATCHERS).fill(0);
const reqs = [];
await Promise.all(
  counts.map(
    (_, i) =>
      new Promise((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port,
            agent: watchAgent,
            path: `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=w%3Dyes&resourceVersion=${rv}`,
          },
          (res) => {
            let buf = '';
            res.on('data', (d) => {
              buf += d;
              let nl;
              while ((nl = buf.indexOf('\n')) >= 0) {
                if (JSON.parse(buf.slice(0, nl)).type === 'ADDED') counts[i]++;
                buf = buf.slice(nl + 1);
              }
            });
            resolve();
          },
        );
        req.on('error', reject);
        reqs.push(req);
      }),
  ),
);
const w0 = performance.now();
for (let i = 0; i < EVENTS; i++)
  await request(
    agent,
    port,
    'POST',
    '/api/v1/namespaces/default/configmaps',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `watched-${i}`, labels: { w: 'yes' } },
    }),
  );
while (counts.some((c) => c < EVENTS) && performance.now() - w0 < 30_000) await sleep(5);
const complete = counts.filter((c) => c === EVENTS).length;
console.log(
  `${WATCHERS} watchers x ${EVENTS} events: ${complete}/${WATCHERS} saw every event, last delivery after ${fmt(performance.now() - w0)}; RSS now ${rssMiB(proc.pid).toFixed(1)} MiB`,
);
for (const r of reqs) r.destroy();
agent.destroy();
await stop(proc);
fs.rmSync(WORK, { recursive: true, force: true });

// The kubelet's part (root: it runs a berthd with 100 pods).
const { benchKubelet } = await import('./lib/kubelet.mjs');
await benchKubelet();
const { benchServices } = await import('./lib/services.mjs');
await benchServices();

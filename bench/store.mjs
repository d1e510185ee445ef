#!/usr/bin/env node
// The cluster store: fsync latency on this disk, sequential durable creates per second, concurrent creates
// (SQLite group commit: one transaction and one fsync per batch), and watch fan-out to 100 watchers, for the
// embedded SQLite store and for a real etcd 3.4 (kube-apiserver's own store, the peer) measured in the same run.
// The target is 1,000 ConfigMap creates through the API in < 3 s: a durable write must stay near 1-2 ms.
// Seen here (2 shared cores, virtio disk): SQLite ~1,300 sequential creates/s (fsync ~0.1 ms median), group commit
// lifting concurrent creates to ~4,500-12,000/s; etcd ~400/s either way through its JSON gateway. Store-level
// fan-out on etcd costs one gateway stream per watcher (etcd serialises each event per stream), which is why the
// API server watches the store once and fans out itself (registry/generic/watch-hub.ts).
// Usage (after npm run build): node bench/store.mjs [creates]   (kcore: import { benchStore } for bench/kube.mjs)
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openStore } = await import(path.join(repo, 'kube/dist/src/store/index.js'));
const { createLogger, setLogLevel } = await import(path.join(repo, 'common/dist/log.js'));

const ETCD = '/usr/bin/etcd';
const ETCD_PORTS = [17210, 17211];

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const ms = (x) => `${x.toFixed(3)} ms`;

/** A ConfigMap as the API server stores it (~600 bytes of JSON). */
function configMap(i) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `cm-${i}`,
      namespace: 'default',
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      creationTimestamp: new Date(0).toISOString(),
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1' }],
    },
    data: { 'app.properties': 'a=1\nb=2\n'.repeat(20), index: String(i) },
  });
}

/** 4 KiB write + fdatasync in `dir`, the floor under any durable write on this disk. */
export function fsyncLatency(dir, n = 300) {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const lat = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
      fdatasyncSync(fd);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return { median: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

async function sequential(store, n, prefix) {
  const lat = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await store.create(`${prefix}cm-${i}`, configMap(i));
    lat.push(performance.now() - t);
  }
  const secs = (performance.now() - t0) / 1000;
  return { perSec: n / secs, secs, median: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

async function concurrent(store, n, inFlight, prefix) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        await store.create(`${prefix}cm-${i}`, configMap(i));
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { perSec: n / secs, secs };
}

/** 100 watchers on one prefix; `n` writes (16 in flight); time until every watcher has every event. */
async function fanOut(store, n, watchers, prefix) {
  const start = await store.revision();
  let complete = 0;
  let allDone;
  const done = new Promise((r) => (allDone = r));
  let t0 = 0;
  const handles = [];
  const counts = new Array(watchers).fill(0);
  for (let w = 0; w < watchers; w++) {
    handles.push(
      await store.watch(prefix, start, {
        onEvent: (e) => {
          if (e.type === 'progress') return;
          if (++counts[w] === n && ++complete === watchers) allDone(performance.now());
        },
        onError: (err) => {
          throw err;
        },
      }),
    );
  }
  t0 = performance.now();
  await concurrent(store, n, 16, prefix);
  const writesDone = performance.now();
  const end = await Promise.race([done, new Promise((r) => setTimeout(() => r(undefined), 60_000))]);
  for (const h of handles) h.stop();
  if (end === undefined)
    throw new Error(`watchers saw ${counts.reduce((a, b) => a + b, 0)} of ${n * watchers}`);
  return { secs: (end - t0) / 1000, lagMs: end - writesDone, delivered: n * watchers };
}

async function startEtcd(dir) {
  const [client, peer] = ETCD_PORTS.map((p) => `http://127.0.0.1:${p}`);
  const proc = spawn(
    ETCD,
    [
      '--name=bench',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=bench=${peer}`,
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  const up = () =>
    new Promise((resolve) => {
      const req = http.request(`${client}/v3/kv/range`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end('{"key":"AA=="}');
    });
  for (let i = 0; i < 200 && !(await up()); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    endpoint: client,
    stop: () =>
      new Promise((r) => {
        proc.once('exit', r);
        proc.kill('SIGTERM');
      }),
  };
}

async function measure(label, open, n) {
  const store = await open();
  try {
    const seq = await sequential(store, n, '/registry/configmaps/seq/');
    const conc = await concurrent(store, n, 32, '/registry/configmaps/conc/');
    const fan = await fanOut(store, n, 100, '/registry/configmaps/fan/');
    return { label, seq, conc, fan };
  } finally {
    await store.close();
  }
}

export async function benchStore({ creates = 1000, withEtcd = existsSync(ETCD) } = {}) {
  setLogLevel('error');
  const log = createLogger({ bench: 'store' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-store-'));
  const results = [];
  try {
    const fsync = fsyncLatency(dir);
    results.push(
      await measure(
        'sqlite',
        () => openStore({ dataDir: path.join(dir, 'sqlite'), log, compaction: false }),
        creates,
      ),
    );
    if (withEtcd) {
      const etcd = await startEtcd(dir);
      try {
        results.push(
          await measure(
            'etcd',
            () => openStore({ dataDir: dir, endpoint: etcd.endpoint, log, compaction: false }),
            creates,
          ),
        );
      } finally {
        await etcd.stop();
      }
    }
    return { fsync, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 1000);
  const { fsync, results } = await benchStore({ creates: n });
  console.log(`fsync (4 KiB + fdatasync) on this disk: median ${ms(fsync.median)}, p99 ${ms(fsync.p99)}`);
  const peer = results.find((r) => r.label === 'etcd');
  for (const r of results) {
    const vs = (ours, theirs) => (peer && r !== peer ? `  (${(ours / theirs).toFixed(2)}x etcd)` : '');
    console.log(`\n${r.label}`);
    console.log(
      `  sequential durable creates: ${r.seq.perSec.toFixed(0)}/s, median ${ms(r.seq.median)}, p99 ${ms(r.seq.p99)}, ${n} in ${r.seq.secs.toFixed(2)} s${vs(r.seq.perSec, peer?.seq.perSec)}`,
    );
    console.log(
      `  concurrent creates (32 in flight): ${r.conc.perSec.toFixed(0)}/s, ${n} in ${r.conc.secs.toFixed(2)} s${vs(r.conc.perSec, peer?.conc.perSec)}`,
    );
    console.log(
      `  watch fan-out: ${n} writes to 100 watchers (${r.fan.delivered} events) in ${r.fan.secs.toFixed(2)} s, last watcher ${r.fan.lagMs.toFixed(1)} ms after the last write${vs(1 / r.fan.secs, 1 / (peer?.fan.secs ?? 1))}`,
    );
  }
  console.log(
    `\ntarget: 1,000 ConfigMap creates through the API in < 3 s (the store's share must be well under that)`,
  );
}

#!/usr/bin/env node
// Pull benchmark: a ~100 MB (gzip) 4-layer image from a local docker-registry, pulled by berthd, compared in
// the same run with the raw download of its blobs (curl), the curl | gunzip | tar -x floor, and dockerd when
// installed (its own data root, socket, no bridge, no iptables; stopped afterwards). Prints absolute times
// and ratios. Usage: node bench/pull.mjs [--runs N]
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const CACHE = path.join(os.tmpdir(), 'berth-bench-pull-v1');
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
const sha = (b) => createHash('sha256').update(b).digest('hex');
const sh = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts });

// ---------- deterministic content ----------
let seed = 0x9e3779b9;
function rnd() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const WORDS =
  'the of and to in is that for it as with was on be by this are or from at an which have not but had all were when we there can more if will one about up out them some so these would other into has time two way could people my than first been call who its now find long down day did get come made may part over new sound take only little work know place years live me back give most very after things our just name good sentence man think say great where help through much before line right too means old any same tell boy follow came want show also around form three small set put end does another well large must big even such because turn here why ask went men read need land different home us move try kind hand picture again change off play spell air away animal house point page letter mother answer found study still learn should america world high every near add food between own below country plant last school father keep tree never start city earth eyes light thought head under story saw left few while along might close something seem next hard open example begin life always those both paper together got group often run important until children side feet car mile night walk white sea began grow took river four carry state once book hear stop without second late miss idea enough eat face watch far indian real almost let above girl sometimes mountain cut young talk soon list song being leave family'.split(
    ' ',
  );
function text(n) {
  const parts = [];
  let len = 0;
  while (len < n) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)];
    parts.push(w);
    len += w.length + 1;
  }
  return Buffer.from(parts.join(rnd() < 0.1 ? '\n' : ' ')).subarray(0, n);
}
function noisy(n) {
  // half random bytes, half text: compresses about 1.6x, like binaries
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4096) {
    const chunk = Math.min(4096, n - i);
    if ((i / 4096) % 2 === 0) for (let j = 0; j < chunk; j++) b[i + j] = (rnd() * 256) | 0;
    else text(chunk).copy(b, i);
  }
  return b;
}

function writeTree(root, layer) {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const put = (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  if (layer === 0) {
    for (let i = 0; i < 8000; i++)
      put(`usr/share/doc/pkg${i % 400}/file${i}.txt`, text(1024 + Math.floor(rnd() * 15000)));
    for (let i = 0; i < 40; i++) put(`usr/lib/lib${i}.so`, noisy(300_000 + Math.floor(rnd() * 300_000)));
    put('etc/os-release', 'PRETTY_NAME="bench"\n');
    fs.mkdirSync(path.join(root, 'var/cache/apt'), { recursive: true });
    put('var/cache/apt/pkgcache.bin', text(50_000));
  } else if (layer === 1) {
    for (let i = 0; i < 8; i++) put(`opt/app/blob${i}.bin`, noisy(5_000_000));
  } else if (layer === 2) {
    for (let i = 0; i < 3000; i++)
      put(`srv/site/p${i % 100}/page${i}.html`, text(2000 + Math.floor(rnd() * 12000)));
    for (let i = 0; i < 10; i++) put(`srv/site/media/m${i}.bin`, noisy(1_500_000));
  } else {
    put('etc/os-release', 'PRETTY_NAME="bench v2"\n');
    put('var/cache/apt/.wh..wh..opq', '');
    put('usr/share/doc/pkg0/.wh.file0.txt', '');
    put('usr/local/bin/tool', noisy(200_000));
  }
}

function buildImage() {
  const marker = path.join(CACHE, 'image.json');
  if (fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8'));
  fs.mkdirSync(path.join(CACHE, 'blobs'), { recursive: true });
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < 4; i++) {
    const tree = path.join(CACHE, `tree${i}`);
    writeTree(tree, i);
    const tar = path.join(CACHE, `layer${i}.tar`);
    sh('tar', [
      '--sort=name',
      '--mtime=@1700000000',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      tree,
      '-cf',
      tar,
      '.',
    ]);
    const gz = sh('gzip', ['-n', '-6', '-c', tar]);
    diffIds.push('sha256:' + sha(fs.readFileSync(tar)));
    const d = sha(gz);
    fs.writeFileSync(path.join(CACHE, 'blobs', d), gz);
    layers.push({
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: gz.length,
      digest: 'sha256:' + d,
    });
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(tar);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch,
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
    }),
  );
  const cd = sha(config);
  fs.writeFileSync(path.join(CACHE, 'blobs', cd), config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: config.length,
      digest: 'sha256:' + cd,
    },
    layers,
  });
  const img = { manifest, layers, config: 'sha256:' + cd };
  fs.writeFileSync(marker, JSON.stringify(img));
  return img;
}

// ---------- registry ----------
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function req(opts, body) {
  return new Promise((resolve, reject) => {
    const r = http.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    r.on('error', reject);
    r.end(body);
  });
}

async function startRegistry() {
  const port = await freePort();
  const dir = path.join(WORK, 'registry');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await req({ host: '127.0.0.1', port, path: '/v2/' })).status === 200) return { port, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('registry did not start');
}

async function upload(port, repo, img) {
  for (const digest of [...img.layers.map((l) => l.digest), img.config]) {
    const data = fs.readFileSync(path.join(CACHE, 'blobs', digest.slice(7)));
    const start = await req({ host: '127.0.0.1', port, method: 'POST', path: `/v2/${repo}/blobs/uploads/` });
    const loc = new URL(start.headers.location, `http://127.0.0.1:${port}`);
    loc.searchParams.set('digest', digest);
    const put = await req(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: loc.pathname + loc.search,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length },
      },
      data,
    );
    if (put.status !== 201) throw new Error(`blob upload failed: ${put.status} ${put.body}`);
  }
  const m = await req(
    {
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: `/v2/${repo}/manifests/latest`,
      headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' },
    },
    img.manifest,
  );
  if (m.status !== 201) throw new Error(`manifest upload failed: ${m.status} ${m.body}`);
}

// ---------- measurements ----------
const now = () => performance.now();
function bash(script) {
  execFileSync('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs every case once per round, rounds interleaved, so drift (writeback, neighbours) hits all alike. */
async function measure(cases, runs) {
  const times = new Map(cases.map((c) => [c.label, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const ctx = await c.prepare?.(i);
      // Settle writeback from the previous case (and its cleanup) so cases do not tax each other.
      execFileSync('sync');
      try {
        const t0 = now();
        await c.run(ctx);
        times.get(c.label).push(now() - t0);
      } finally {
        await c.cleanup?.(ctx);
      }
    }
  }
  const out = {};
  for (const c of cases) {
    const t = times.get(c.label).sort((a, b) => a - b);
    out[c.key] = t[Math.floor(t.length / 2)];
    console.log(
      `  ${c.label.padEnd(44)} median ${(out[c.key] / 1000).toFixed(2)} s   (runs: ${t.map((x) => (x / 1000).toFixed(2)).join(', ')})`,
    );
  }
  return out;
}

async function waitSocket(sock, proc, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}`);
    try {
      if ((await req({ socketPath: sock, path: '/_ping' })).status === 200) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('daemon did not come up');
}

function pullOver(sock, image) {
  return new Promise((resolve, reject) => {
    const i = image.lastIndexOf(':');
    const name = image.slice(0, i);
    const tag = image.slice(i + 1);
    const r = http.request(
      {
        socketPath: sock,
        method: 'POST',
        path: `/v1.41/images/create?fromImage=${encodeURIComponent(name)}&tag=${tag}`,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          res.statusCode === 200 && !text.includes('"error"')
            ? resolve()
            : reject(new Error(`pull failed: ${res.statusCode} ${text.slice(-500)}`)),
        );
      },
    );
    r.on('error', reject);
    r.end();
  });
}

async function stopProc(proc) {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(t);
}

async function main() {
  console.log('bench/pull: building the test image (cached in ' + CACHE + ')');
  const img = buildImage();
  const total = img.layers.reduce((n, l) => n + l.size, 0);
  console.log(
    `image: ${img.layers.length} gzip layers, ${(total / 1e6).toFixed(1)} MB compressed; ${RUNS} runs each, median shown`,
  );
  const reg = await startRegistry();
  const host = `127.0.0.1:${reg.port}`;
  const results = {};
  try {
    await upload(reg.port, 'bench/app', img);
    const urls = img.layers.map((l) => `http://${host}/v2/bench/app/blobs/${l.digest}`);

    const tmpDir = (p) => () => fs.mkdtempSync(path.join(WORK, p));
    const rmDir = (dir) => fs.rmSync(dir, { recursive: true, force: true });
    const cases = [
      {
        key: 'download',
        label: 'raw download (curl, layers in sequence)',
        prepare: tmpDir('dl-'),
        cleanup: rmDir,
        run: (dir) => bash(urls.map((u, i) => `curl -sf -o ${dir}/l${i} ${u}`).join(' && ')),
      },
      {
        key: 'floor',
        label: 'curl | gunzip | tar -x (layers in sequence)',
        prepare: tmpDir('x-'),
        cleanup: rmDir,
        run: (dir) =>
          bash(
            urls
              .map((u, i) => `mkdir ${dir}/l${i} && curl -sf ${u} | gunzip | tar -x -C ${dir}/l${i}`)
              .join(' && '),
          ),
      },
      {
        key: 'floorParallel',
        label: 'curl | gunzip | tar -x (layers in parallel)',
        prepare: tmpDir('xp-'),
        cleanup: rmDir,
        run: (dir) =>
          bash(
            urls
              .map((u, i) => `(mkdir ${dir}/l${i} && curl -sf ${u} | gunzip | tar -x -C ${dir}/l${i}) &`)
              .join(' ') + ' wait',
          ),
      },
      {
        key: 'berthd',
        label: 'berthd pull',
        prepare: async (i) => {
          const root = path.join(WORK, `berth-${i}`);
          const sock = path.join(WORK, `berth-${i}.sock`);
          const proc = spawn(
            path.join(REPO, 'bin/berthd'),
            ['--data-root', root, '-H', `unix://${sock}`, '--log-level', 'warn'],
            { stdio: 'ignore' },
          );
          await waitSocket(sock, proc);
          return { proc, sock, root };
        },
        run: (c) => pullOver(c.sock, `${host}/bench/app:latest`),
        cleanup: async (c) => {
          await stopProc(c.proc);
          rmDir(c.root);
        },
      },
    ];
    const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
    if (dockerd) {
      cases.push({
        key: 'dockerd',
        label: 'dockerd pull (peer)',
        prepare: async (i) => {
          const root = path.join(WORK, `docker-${i}`);
          const sock = path.join(WORK, `docker-${i}.sock`);
          const exec = path.join(WORK, `dx-${i}`);
          const proc = spawn(
            dockerd,
            [
              '--data-root',
              root,
              '--exec-root',
              exec,
              '-H',
              `unix://${sock}`,
              '--pidfile',
              path.join(WORK, `docker-${i}.pid`),
              '--bridge=none',
              '--iptables=false',
              '--ip6tables=false',
              '--ip-forward=false',
              '--ip-masq=false',
              '--insecure-registry',
              host,
            ],
            { stdio: 'ignore' },
          );
          await waitSocket(sock, proc);
          return { proc, sock, root, exec };
        },
        run: (c) => pullOver(c.sock, `${host}/bench/app:latest`),
        cleanup: async (c) => {
          await stopProc(c.proc);
          rmDir(c.root);
          rmDir(c.exec);
        },
      });
    } else console.log('  dockerd not installed: peer skipped (apt-get install docker.io to compare)');
    Object.assign(results, await measure(cases, RUNS));
  } finally {
    await stopProc(reg.proc);
    fs.rmSync(WORK, { recursive: true, force: true });
  }
  const r = (a, b) => (results[a] / results[b]).toFixed(2);
  console.log('ratios:');
  console.log(`  berthd / curl|gunzip|tar (sequential floor): ${r('berthd', 'floor')}x   (target <= 1.10)`);
  console.log(`  berthd / curl|gunzip|tar (parallel floor):   ${r('berthd', 'floorParallel')}x`);
  console.log(`  berthd / raw download:                       ${r('berthd', 'download')}x`);
  if (results.dockerd)
    console.log(`  berthd / dockerd:                            ${r('berthd', 'dockerd')}x   (target < 1)`);
  return results;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

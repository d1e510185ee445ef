#!/usr/bin/env node
// Build benchmark: a 3-stage Dockerfile (COPY of busybox and a ~50 MB context, COPY --from between stages,
// a RUN step) built by the real docker CLI (classic builder, no buildx) against berthd, and against dockerd's
// classic builder when installed (its own data root, exec root, socket, no bridge, no iptables; stopped
// afterwards). Measures a cold build (--no-cache) and a fully cached rebuild (context send + hash dominate).
// Prints absolute times and ratios. Usage: node bench/build.mjs [--runs N] [--no-run]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const WITH_RUN = !process.argv.includes('--no-run');
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-build-'));
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

let seed = 0x2545f491;
function rnd() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

function makeContext(dir) {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  // ~50 MB: 40 files of 1 MB and 2000 small ones, deterministic content.
  for (let i = 0; i < 40; i++) {
    const b = Buffer.alloc(1 << 20);
    for (let j = 0; j < b.length; j += 4) b.writeUInt32LE(rnd(), j);
    fs.writeFileSync(path.join(dir, 'data', `blob${i}.bin`), b);
  }
  for (let i = 0; i < 2000; i++) {
    const sub = path.join(dir, 'data', 'src', `d${i % 50}`);
    fs.mkdirSync(sub, { recursive: true });
    const b = Buffer.alloc(4096 + (rnd() % 2048));
    for (let j = 0; j + 4 <= b.length; j += 4) b.writeUInt32LE(rnd(), j);
    fs.writeFileSync(path.join(sub, `f${i}.txt`), b);
  }
  fs.copyFileSync(BUSYBOX, path.join(dir, 'busybox'));
  fs.chmodSync(path.join(dir, 'busybox'), 0o755);
  const run = WITH_RUN
    ? 'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox ls -R /data | /bin/busybox wc -l > /count"]'
    : 'COPY busybox /bin/sh';
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    `FROM scratch AS base
COPY busybox /bin/busybox
ENV PATH=/bin
FROM base AS build
COPY data/ /data/
${run}
LABEL stage=build
FROM base
COPY --from=build /data/src /app/src
COPY --from=build /data/blob0.bin /app/
CMD ["/bin/busybox", "ls", "/app"]
`,
  );
}

function ping(sock) {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: sock, path: '/_ping' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function waitUp(sock, proc, what) {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    if (await ping(sock)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up`);
}

function docker(sock, args) {
  const t0 = process.hrtime.bigint();
  execFileSync('docker', ['-H', `unix://${sock}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
    env: { ...process.env, DOCKER_CONFIG: path.join(WORK, 'docker-config'), DOCKER_BUILDKIT: '0' },
  });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A cached build through the API with a tar made beforehand: the daemon's own share (no CLI walk/tar). */
function apiBuild(sock, tarFile) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(
      {
        socketPath: sock,
        method: 'POST',
        path: '/build?t=bench:latest&q=1',
        headers: { 'Content-Type': 'application/x-tar' },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode !== 200 || body.includes('errorDetail'))
            return reject(new Error(`API build failed: ${body}`));
          resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        });
      },
    );
    req.on('error', reject);
    fs.createReadStream(tarFile).pipe(req);
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(name, sock, ctx, tarFile) {
  // A first build warms the page cache and the base layers; then cold (--no-cache) and cached runs.
  docker(sock, ['build', '-q', '-t', 'bench:latest', ctx]);
  const cold = [];
  const cached = [];
  for (let i = 0; i < RUNS; i++) {
    cold.push(docker(sock, ['build', '-q', '--no-cache', '-t', 'bench:latest', ctx]));
    cached.push(docker(sock, ['build', '-q', '-t', 'bench:latest', ctx]));
  }
  const api = [];
  for (let i = 0; i < RUNS; i++) api.push(await apiBuild(sock, tarFile));
  const r = { cold: median(cold), cached: median(cached), api: median(api) };
  console.log(
    `  ${name.padEnd(8)} cold ${r.cold.toFixed(0).padStart(6)} ms   full cache hit ${r.cached.toFixed(0).padStart(5)} ms (CLI), ${r.api.toFixed(0).padStart(4)} ms (API, tar ready)   median of ${RUNS}`,
  );
  return r;
}

async function main() {
  if (!BUSYBOX) throw new Error('busybox-static is needed (apt-get install busybox-static)');
  const ctx = path.join(WORK, 'ctx');
  makeContext(ctx);
  const size = Number(execFileSync('du', ['-sb', ctx]).toString().split('\t')[0]);
  const tarFile = path.join(WORK, 'ctx.tar');
  execFileSync('tar', ['-C', ctx, '-cf', tarFile, '.']);
  console.log(
    `build: 3-stage Dockerfile, context ${(size / 1e6).toFixed(1)} MB, ${WITH_RUN ? 'with' : 'without'} a RUN step`,
  );
  const results = {};
  const procs = [];
  try {
    const bsock = path.join(WORK, 'berthd.sock');
    const berthd = spawn(
      process.execPath,
      [
        path.join(REPO, 'agent/dist/src/main.js'),
        '--data-root',
        path.join(WORK, 'berth-root'),
        '-H',
        `unix://${bsock}`,
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    procs.push(berthd);
    await waitUp(bsock, berthd, 'berthd');
    results.berthd = await measure('berthd', bsock, ctx, tarFile);

    const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
    if (dockerd) {
      const dsock = path.join(WORK, 'dockerd.sock');
      const d = spawn(
        dockerd,
        [
          '--data-root',
          path.join(WORK, 'docker-root'),
          '--exec-root',
          path.join(WORK, 'docker-exec'),
          '-H',
          `unix://${dsock}`,
          '--pidfile',
          path.join(WORK, 'dockerd.pid'),
          '--bridge=none',
          '--iptables=false',
          '--ip6tables=false',
          '--ip-forward=false',
          '--ip-masq=false',
        ],
        { stdio: 'ignore' },
      );
      procs.push(d);
      await waitUp(dsock, d, 'dockerd');
      results.dockerd = await measure('dockerd', dsock, ctx, tarFile);
    } else console.log('  dockerd not installed: peer skipped (apt-get install docker.io to compare)');
  } finally {
    for (const p of procs.reverse()) {
      if (p.exitCode !== null) continue;
      p.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          p.kill('SIGKILL');
          r();
        }, 15000);
        p.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    fs.rmSync(WORK, { recursive: true, force: true });
  }
  if (results.dockerd) {
    const b = results.berthd;
    const d = results.dockerd;
    console.log(`  cold:   berthd / dockerd = ${(b.cold / d.cold).toFixed(2)}x   (target <= 1.2)`);
    console.log(
      `  cached: berthd / dockerd = ${(b.cached / d.cached).toFixed(2)}x (CLI)   ${(b.api / d.api).toFixed(2)}x (API)   berthd ${b.cached.toFixed(0)} ms CLI, ${b.api.toFixed(0)} ms API (target < 150 ms)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

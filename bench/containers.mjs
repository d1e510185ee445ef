#!/usr/bin/env node
// Container benchmark: `docker run --rm busybox true` wall time, `docker exec` latency, 50 detached containers
// back to back, and daemon idle RSS, for berthd and (when installed) dockerd measured in the same run.
// Both engines run containers with --network none (the dockerd peer is started with --bridge=none), so the
// numbers compare the container path, not bridge setup. Needs `npm run build` (uses the test fixtures).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const DETACHED = 50;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ctr-'));

const { seedRegistry } = await import(path.join(REPO, 'test/dist/fixtures/seed.js'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function docker(sock, args) {
  const t0 = process.hrtime.bigint();
  execFileSync('docker', ['-H', `unix://${sock}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DOCKER_CONFIG: WORK },
  });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function waitSocket(sock, proc) {
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`daemon exited (${proc.exitCode})`);
    try {
      execFileSync('docker', ['-H', `unix://${sock}`, 'version'], {
        stdio: 'ignore',
        env: { ...process.env, DOCKER_CONFIG: WORK },
      });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('daemon did not come up');
}

async function stopProc(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await new Promise((r) => proc.once('exit', r));
  clearTimeout(t);
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function childPids(pid) {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function measureEngine(label, sock, pid, host) {
  await sleep(1000);
  const fresh = rssMiB(pid);
  docker(sock, ['pull', '-q', `${host}/busybox:latest`]);
  docker(sock, ['tag', `${host}/busybox:latest`, 'busybox']);
  for (let i = 0; i < 3; i++) docker(sock, ['run', '--rm', '--network', 'none', 'busybox', 'true']);
  const run = [];
  for (let i = 0; i < RUNS; i++)
    run.push(docker(sock, ['run', '--rm', '--network', 'none', 'busybox', 'true']));
  docker(sock, ['run', '-d', '--name', 'bench-exec', '--network', 'none', 'busybox', 'sleep', '600']);
  for (let i = 0; i < 3; i++) docker(sock, ['exec', 'bench-exec', 'true']);
  const exec = [];
  for (let i = 0; i < RUNS; i++) exec.push(docker(sock, ['exec', 'bench-exec', 'true']));
  docker(sock, ['rm', '-f', 'bench-exec']);
  const t0 = Date.now();
  for (let i = 0; i < DETACHED; i++)
    docker(sock, ['run', '-d', '--network', 'none', '--name', `bench-d${i}`, 'busybox', 'sleep', '600']);
  const detached = Date.now() - t0;
  const withContainers = rssMiB(pid);
  docker(sock, ['rm', '-f', ...Array.from({ length: DETACHED }, (_, i) => `bench-d${i}`)]);
  await sleep(3000);
  const idle = rssMiB(pid);
  console.log(
    `  ${label}: run --rm ${median(run).toFixed(0)} ms, exec ${median(exec).toFixed(0)} ms, ${DETACHED} detached ${detached} ms, RSS at start ${fresh.toFixed(1)} MiB, idle after the runs ${idle.toFixed(1)} MiB (${withContainers.toFixed(1)} MiB with ${DETACHED} running)`,
  );
  return { run: median(run), exec: median(exec), detached, idle, fresh };
}

const results = {};
const reg = await seedRegistry();
const host = reg.host;
try {
  {
    const root = path.join(WORK, 'berth');
    const sock = path.join(WORK, 'berth.sock');
    const proc = spawn(
      path.join(REPO, 'bin/berthd'),
      ['--data-root', root, '-H', `unix://${sock}`, '--log-level', 'warn', '--insecure-registry', host],
      { stdio: 'ignore' },
    );
    try {
      await waitSocket(sock, proc);
      results.berthd = await measureEngine('berthd', sock, proc.pid, host);
    } finally {
      await stopProc(proc);
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
  if (dockerd) {
    const root = path.join(WORK, 'docker');
    const exec = path.join(WORK, 'dx');
    const sock = path.join(WORK, 'docker.sock');
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
        path.join(WORK, 'docker.pid'),
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
    try {
      await waitSocket(sock, proc);
      results.dockerd = await measureEngine('dockerd (peer)', sock, proc.pid, host);
      const cd = childPids(proc.pid)
        .map((p) => rssMiB(p))
        .filter((x) => !Number.isNaN(x));
      if (cd.length)
        console.log(`  dockerd's containerd child: ${cd.reduce((a, b) => a + b, 0).toFixed(1)} MiB RSS more`);
    } finally {
      await stopProc(proc);
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(exec, { recursive: true, force: true });
    }
  } else console.log('  dockerd not installed: peer skipped (apt-get install docker.io to compare)');
} finally {
  await reg.stop?.();
  fs.rmSync(WORK, { recursive: true, force: true });
}

const b = results.berthd;
console.log('absolute (berthd):');
console.log(`  run --rm busybox true: ${b.run.toFixed(0)} ms   (target < 140 ms)`);
console.log(`  exec latency:          ${b.exec.toFixed(0)} ms   (target < 70 ms)`);
console.log(`  ${DETACHED} detached runs:      ${b.detached} ms`);
console.log(
  `  idle RSS:              ${b.idle.toFixed(1)} MiB after the runs, ${b.fresh.toFixed(1)} MiB at start (target < 60 MiB)`,
);
if (results.dockerd) {
  const d = results.dockerd;
  console.log('ratios berthd / dockerd (lower is better):');
  for (const k of ['run', 'exec', 'detached', 'idle'])
    console.log(`  ${k.padEnd(9)} ${(b[k] / d[k]).toFixed(2)}x   (${b[k].toFixed(0)} vs ${d[k].toFixed(0)})`);
}
process.exit(0);

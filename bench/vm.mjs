#!/usr/bin/env node
// The VM, measured: `berth start` → first /_ping through the host socket (cold: VM off), the gap between
// berthd listening inside and `berth start` returning, idle RSS and CPU of QEMU + the host tunnel over 30 s,
// file sharing (virtio-9p; bench/lib/share.mjs) against the host disk, uploads through the engine socket (`docker build` of a
// 48 MiB context), and port forwards (a container's published port, and a static forward over SSH) against
// plain loopback; peers measured in the same run. Uses a private BERTH_HOME; leaves nothing running.
// Usage (after npm run build and node vm-image/build.mjs): node bench/vm.mjs [starts=3]
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTS = Number(process.argv[2] ?? 3);
const home = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-vm-'));
const share = mkdtempSync(path.join(os.homedir(), '.berth-bench-share-'));
const env = { ...process.env, BERTH_HOME: home, DOCKER_CONFIG: path.join(home, 'docker-config') };
const socket = path.join(home, 'run', 'docker.sock');
const MiB = 1 << 20;

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const berth = (...args) => {
  const r = spawnSync(path.join(repo, 'bin/berth'), args, { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 && args[0] !== 'status') throw new Error(`berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const guest = (cmd) => berth('shell', '--', cmd);
const status = () => JSON.parse(berth('status', '--json'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const { pingSocket } = await import(path.join(repo, 'electron/dist/src/vm/manager.js'));
const { measureSharing } = await import('./lib/share.mjs');
const ping = () => pingSocket(socket, 1000);

const results = {};
const guestSinkPort = 18081;
const guestHttpPort = 18082;
const [fwdSink, fwdHttp] = [await freePort(), await freePort()];
writeFileSync(
  path.join(home, 'vm-config.json'),
  JSON.stringify({
    driver: 'qemu',
    shareFolders: [share],
    forwards: [
      { hostPort: fwdSink, guestPort: guestSinkPort },
      { hostPort: fwdHttp, guestPort: guestHttpPort },
    ],
  }),
);
writeFileSync(
  path.join(home, 'settings.json'),
  JSON.stringify({ version: 3, vm: { cpus: 2, memoryMiB: 2048, diskGiB: 16 } }),
);

try {
  // 1. berth start → first /_ping on the host socket. The first start also probes acceleration and formats
  // the data disk; it is reported apart from the cold starts that follow (VM off, caches on the host warm).
  const starts = [];
  const readies = [];
  const gaps = [];
  // The guest's boot timeline from its console (berth-init logs /proc/uptime: seconds since the kernel started).
  const boot = { stage2: [], berthdStarted: [] };
  const uptimeAt = (log, what) => Number(new RegExp(`berth: \\[([\\d.]+)\\] ${what}`).exec(log)?.[1] ?? NaN);
  for (let i = 0; i <= STARTS; i++) {
    // (STARTS=0: only the first start, for a quick run of the other measurements)
    const t0 = performance.now();
    const child = spawn(path.join(repo, 'bin/berth'), ['start'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('close', r));
    const returnedAt = Date.now();
    if (code !== 0) throw new Error(err);
    while (!(await ping())) await new Promise((r) => setTimeout(r, 20));
    const s = (performance.now() - t0) / 1000;
    if (i === 0) results.firstStartSeconds = +s.toFixed(2);
    else starts.push(s);
    // berthd's own "API listening" time (guest clock), mapped to the host clock through /info's SystemTime.
    const t1 = Date.now();
    const info = JSON.parse(
      execFileSync('curl', ['-s', '--unix-socket', socket, 'http://berth/info'], { encoding: 'utf8' }),
    );
    // /_ping answers as soon as berthd listens; /info waits until its state is loaded and reconciled, so this
    // is when `docker ps` would first answer: the number a user feels.
    const ready = (performance.now() - t0) / 1000;
    if (i > 0) readies.push(ready);
    const offset = Date.parse(info.SystemTime) - (t1 + Date.now()) / 2;
    const listening = guest('grep "API listening" /run/berth/berthd.log')
      .trim()
      .split('\n')
      .map((l) => Date.parse(JSON.parse(l).time));
    gaps.push((returnedAt - (Math.max(...listening) - offset)) / 1000);
    if (i > 0) {
      const log = readFileSync(path.join(home, 'vm', 'serial.log'), 'utf8');
      boot.stage2.push(uptimeAt(log, 'stage 2'));
      boot.berthdStarted.push(uptimeAt(log, 'berthd started'));
    }
    if (i < STARTS) berth('stop');
  }
  if (starts.length)
    results.guestBootSeconds = {
      stage2: +median(boot.stage2).toFixed(2),
      berthdStarted: +median(boot.berthdStarted).toFixed(2),
      samples: boot.berthdStarted,
      note: 'guest uptime (from kernel start) at berth-init (stage 2) and at berthd spawn, medians of the cold starts',
    };
  if (starts.length)
    results.coldStartToPingSeconds = {
      median: +median(starts).toFixed(2),
      samples: starts.map((s) => +s.toFixed(2)),
      accel: status().accel,
      hostLoad1: os.loadavg()[0].toFixed(1),
      target: 'under 6 s under TCG, under 2 s with KVM/HVF',
    };
  if (readies.length)
    results.coldStartToReadySeconds = {
      median: +median(readies).toFixed(2),
      samples: readies.map((s) => +s.toFixed(2)),
      note: 'berth start → first answer to GET /info (engine state loaded); /_ping answers earlier, at listen',
    };
  results.listeningToStartReturnsSeconds = {
    median: +median(gaps).toFixed(3),
    samples: gaps.map((g) => +g.toFixed(3)),
    note: 'berthd "API listening" (last listener, guest clock mapped via /info SystemTime) to `berth start` exiting',
  };

  // 2. Idle: QEMU + tunnel RSS and CPU over 30 s.
  const st = status();
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const cpu = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  await new Promise((r) => setTimeout(r, 5000)); // let boot-time work settle
  const c0 = { q: cpu(st.pid), t: cpu(st.tunnelPid) };
  await new Promise((r) => setTimeout(r, 30_000));
  const c1 = { q: cpu(st.pid), t: cpu(st.tunnelPid) };
  results.idle30s = {
    qemuCpuPercent: +(((c1.q - c0.q) / tick / 30) * 100).toFixed(2),
    tunnelCpuPercent: +(((c1.t - c0.t) / tick / 30) * 100).toFixed(2),
    qemuRssMiB: +(rss(st.pid) / MiB).toFixed(1),
    tunnelRssMiB: +(rss(st.tunnelPid) / MiB).toFixed(1),
  };

  // 3. File sharing: large files (write + fsync, cold and warm reads) and a tree of small files, host disk
  // against the same folder through the share, with the guest's own disk as the emulation ceiling.
  const inGuest = (cmd) => {
    const r = spawnSync(path.join(repo, 'bin/berth'), ['shell', '--', `time sh -c '${cmd}'`], {
      env,
      encoding: 'utf8',
    });
    const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`in the VM: ${cmd}: ${r.stderr}`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  inGuest('mkdir -p /var/lib/berth/bench-share');
  results.fileSharing = {
    mount: guest(`grep " ${share} " /proc/mounts`).trim(),
    ...measureSharing({ share, inGuest, guestDisk: '/var/lib/berth/bench-share' }),
  };
  inGuest('rm -rf /var/lib/berth/bench-share');

  // 4. Uploads through the engine socket: `docker build` (classic builder) of a 48 MiB incompressible context.
  // The image it makes (busybox + the 48 MiB file) serves the published-port measurements below.
  const ctx = path.join(home, 'ctx');
  mkdirSync(ctx);
  execFileSync('cp', ['/bin/busybox', ctx]);
  const CTX_BYTES = 48 * MiB;
  writeFileSync(path.join(ctx, 'big.bin'), randomBytes(CTX_BYTES));
  writeFileSync(
    path.join(ctx, 'Dockerfile'),
    'FROM scratch\nCOPY busybox /bin/busybox\nCOPY big.bin /www/big.bin\n',
  );
  const docker = (...args) =>
    execFileSync('docker', ['-H', `unix://${socket}`, ...args], {
      env: { ...env, DOCKER_BUILDKIT: '0' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  const tb = performance.now();
  docker('build', '-q', '-t', 'bench-vm:latest', ctx);
  const buildSecs = (performance.now() - tb) / 1000;
  results.engineSocketUpload = {
    buildContextMiB: 48,
    buildSeconds: +buildSecs.toFixed(2),
    contextMiBs: +(48 / buildSecs).toFixed(1),
    note: 'whole docker build (upload, unpack, COPY, commit) of an incompressible context',
  };

  // 5. Port forward: 64 MiB uploaded into a sink and downloaded over HTTP, forwarded vs plain loopback;
  // byte counts are checked so a failed connection cannot pass for a fast one.
  const BYTES = 64 * MiB;
  const upload = (port) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const s = net.connect(port, '127.0.0.1', () => {
        const chunk = Buffer.alloc(MiB);
        let sent = 0;
        const pump = () => {
          while (sent < BYTES) {
            sent += chunk.length;
            if (!s.write(chunk)) return s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
      s.on('close', () => resolve(BYTES / MiB / ((performance.now() - t0) / 1000)));
      s.on('error', reject);
      s.resume();
    });
  const download = (port, bytes = BYTES) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      let n = 0;
      http
        .get({ host: '127.0.0.1', port, path: '/big.bin' }, (res) => {
          res.on('data', (d) => (n += d.length));
          res.on('end', () =>
            n === bytes
              ? resolve(n / MiB / ((performance.now() - t0) / 1000))
              : reject(new Error(`downloaded ${n} of ${bytes} bytes`)),
          );
        })
        .on('error', reject);
    });
  // Loopback peers on the host.
  let sunk = 0;
  const sink = net.createServer((c) => c.on('data', (d) => (sunk += d.length)));
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const big = Buffer.alloc(BYTES);
  const web = http.createServer((_q, res) => res.end(big));
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  const loopUp = await upload(sink.address().port);
  const loopDown = await download(web.address().port);
  sink.close();
  web.close();
  if (sunk !== BYTES) throw new Error(`loopback sink got ${sunk} bytes`);
  // The guest side: a busybox nc sink writing to tmpfs (its stdin held open: nc quits at stdin EOF),
  // and httpd serving 64 MiB from tmpfs.
  guest(
    `mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big.bin bs=1M count=64 2>/dev/null && httpd -p 127.0.0.1:${guestHttpPort} -h /tmp/www && ((sleep 600 | nc -l -p ${guestSinkPort} > /tmp/up.bin) </dev/null >/dev/null 2>&1 &) ; sleep 1`,
  );
  const fwdUp = await upload(fwdSink);
  const got = Number(guest('wc -c < /tmp/up.bin').trim());
  if (got !== BYTES) throw new Error(`the VM's sink got ${got} of ${BYTES} bytes`);
  const fwdDown = await download(fwdHttp);
  // A container's published ports (what `docker run -p` users get): a sink counting bytes, and httpd.
  const [pubSink, pubHttp] = [await freePort(), await freePort()];
  // nc quits when its stdin ends: a fifo nobody writes to holds it open.
  docker(
    'run',
    '-d',
    '--name',
    'bench-sink',
    '-p',
    `${pubSink}:9000`,
    'bench-vm:latest',
    '/bin/busybox',
    'sh',
    '-c',
    'cd /www && /bin/busybox mkfifo f && (/bin/busybox sleep 900 > f &) && /bin/busybox nc -l -p 9000 < f > up.bin; /bin/busybox wc -c < up.bin',
  );
  docker(
    'run',
    '-d',
    '--name',
    'bench-web',
    '-p',
    `${pubHttp}:80`,
    'bench-vm:latest',
    '/bin/busybox',
    'httpd',
    '-f',
    '-p',
    '80',
    '-h',
    '/www',
  );
  const answers = async (port) => {
    for (let i = 0; i < 200; i++) {
      const ok = await new Promise((r) =>
        http
          .get({ host: '127.0.0.1', port, path: '/nothing' }, (res) => (res.resume(), r(true)))
          .on('error', () => r(false)),
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`published port ${port} never answered`);
  };
  await answers(pubHttp);
  const pubDown = await download(pubHttp, CTX_BYTES);
  await new Promise((r) => setTimeout(r, 300)); // the sink's forward follows its start event
  const pubUp = await upload(pubSink);
  // The sink prints its byte count when the connection ends.
  const sunkInside = () => Number(docker('logs', 'bench-sink').trim() || -1);
  for (let i = 0; i < 100 && sunkInside() < 0; i++) await new Promise((r) => setTimeout(r, 100));
  const sunkInContainer = sunkInside();
  if (sunkInContainer !== BYTES)
    throw new Error(`the container's sink got ${sunkInContainer} of ${BYTES} bytes`);
  docker('rm', '-f', 'bench-sink', 'bench-web');
  results.portForward = {
    loopbackUploadMiBs: +loopUp.toFixed(1),
    loopbackDownloadMiBs: +loopDown.toFixed(1),
    publishedUploadMiBs: +pubUp.toFixed(1),
    publishedDownloadMiBs: +pubDown.toFixed(1),
    publishedUploadRatio: +(pubUp / loopUp).toFixed(3),
    publishedDownloadRatio: +(pubDown / loopDown).toFixed(3),
    sshStaticUploadMiBs: +fwdUp.toFixed(1),
    sshStaticDownloadMiBs: +fwdDown.toFixed(1),
    sshStaticUploadRatio: +(fwdUp / loopUp).toFixed(3),
    sshStaticDownloadRatio: +(fwdDown / loopDown).toFixed(3),
    note: 'published: a container port (-p) on the host 127.0.0.1; sshStatic: a vm-config forward to the guest loopback (over SSH)',
  };
} finally {
  spawnSync(path.join(repo, 'bin/berth'), ['stop', '-t', '10'], { env });
  rmSync(home, { recursive: true, force: true });
  rmSync(share, { recursive: true, force: true });
}

results.host = { cpus: os.cpus().length, load1: os.loadavg()[0].toFixed(2) };
console.log(JSON.stringify(results, null, 2));
mkdirSync(path.join(repo, 'bench/out'), { recursive: true });
writeFileSync(path.join(repo, 'bench/out/vm.json'), JSON.stringify(results, null, 2) + '\n');

#!/usr/bin/env node
// The VM, measured: `berth start` → first /_ping through the host socket (cold: VM off), idle RSS and CPU
// of QEMU + the host tunnel over 30 s, file sharing (virtio-9p) against the host disk, and a port forward
// against plain loopback; peers measured in the same run. Uses a private BERTH_HOME; leaves nothing running.
// Usage (after npm run build and node vm-image/build.mjs): node bench/vm.mjs [starts=3]
import { execFileSync, spawnSync } from 'node:child_process';
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
const ping = () => pingSocket(socket, 1000);

const results = {};
const guestSinkPort = 18081;
const guestHttpPort = 18082;
const [fwdSink, fwdHttp] = [await freePort(), await freePort()];
writeFileSync(path.join(home, 'vm-config.json'), JSON.stringify({ driver: 'qemu', shareFolders: [share], forwards: [{ hostPort: fwdSink, guestPort: guestSinkPort }, { hostPort: fwdHttp, guestPort: guestHttpPort }] }));
writeFileSync(path.join(home, 'settings.json'), JSON.stringify({ version: 3, vm: { cpus: 2, memoryMiB: 2048, diskGiB: 16 } }));

try {
  // 1. berth start → first /_ping on the host socket. The first start also probes acceleration and formats
  // the data disk; it is reported apart from the cold starts that follow (VM off, caches on the host warm).
  const starts = [];
  for (let i = 0; i <= STARTS; i++) {
    // (STARTS=0: only the first start, for a quick run of the other measurements)
    const t0 = performance.now();
    const child = spawnSync(path.join(repo, 'bin/berth'), ['start'], { env, encoding: 'utf8', timeout: 300_000 });
    if (child.status !== 0) throw new Error(child.stderr);
    while (!(await ping())) await new Promise((r) => setTimeout(r, 20));
    const s = (performance.now() - t0) / 1000;
    if (i === 0) results.firstStartSeconds = +s.toFixed(2);
    else starts.push(s);
    if (i < STARTS) berth('stop');
  }
  if (starts.length) results.coldStartToPingSeconds = { median: +median(starts).toFixed(2), samples: starts.map((s) => +s.toFixed(2)), accel: status().accel, hostLoad1: os.loadavg()[0].toFixed(1), target: 'under 6 s under TCG, under 2 s with KVM/HVF' };

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

  // 3. File sharing: 128 MiB written with fsync and read back, host disk vs the same folder through 9p.
  // The guest's busybox dd prints no rate, so the guest side is timed with `time` inside the VM.
  const SIZE = 128;
  const timed = (cmd) => {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const inGuest = (cmd) => {
    const r = spawnSync(path.join(repo, 'bin/berth'), ['shell', '--', `time sh -c '${cmd}'`], { env, encoding: 'utf8' });
    const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`in the VM: ${cmd}: ${r.stderr}`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const hostW = timed(`dd if=/dev/zero of=${share}/host.bin bs=1M count=${SIZE} conv=fsync 2>/dev/null`);
  const hostR = timed(`dd if=${share}/host.bin of=/dev/null bs=1M 2>/dev/null`);
  const guestW = inGuest(`dd if=/dev/zero of=${share}/guest.bin bs=1M count=${SIZE} conv=fsync 2>/dev/null`);
  const guestR = inGuest(`dd if=${share}/host.bin of=/dev/null bs=1M 2>/dev/null`);
  const mbps = (secs) => +(SIZE / secs).toFixed(1);
  const fs = { hostWriteMiBs: mbps(hostW), hostReadMiBs: mbps(hostR), sharedWriteMiBs: mbps(guestW), sharedReadMiBs: mbps(guestR) };
  results.fileSharing = { ...fs, writeRatio: +(fs.sharedWriteMiBs / fs.hostWriteMiBs).toFixed(2), readRatio: +(fs.sharedReadMiBs / fs.hostReadMiBs).toFixed(2), note: 'reads: host page cache warm on both sides', target: '>= 0.75 of native' };

  // 4. Port forward: 64 MiB uploaded into a sink and downloaded over HTTP, forwarded vs plain loopback;
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
  const download = (port) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      let n = 0;
      http.get({ host: '127.0.0.1', port, path: '/big.bin' }, (res) => {
        res.on('data', (d) => (n += d.length));
        res.on('end', () => (n === BYTES ? resolve(n / MiB / ((performance.now() - t0) / 1000)) : reject(new Error(`downloaded ${n} of ${BYTES} bytes`))));
      }).on('error', reject);
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
  guest(`mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big.bin bs=1M count=64 2>/dev/null && httpd -p 127.0.0.1:${guestHttpPort} -h /tmp/www && ((sleep 600 | nc -l -p ${guestSinkPort} > /tmp/up.bin) </dev/null >/dev/null 2>&1 &) ; sleep 1`);
  const fwdUp = await upload(fwdSink);
  const got = Number(guest('wc -c < /tmp/up.bin').trim());
  if (got !== BYTES) throw new Error(`the VM's sink got ${got} of ${BYTES} bytes`);
  const fwdDown = await download(fwdHttp);
  results.portForward = {
    loopbackUploadMiBs: +loopUp.toFixed(1),
    forwardedUploadMiBs: +fwdUp.toFixed(1),
    loopbackDownloadMiBs: +loopDown.toFixed(1),
    forwardedDownloadMiBs: +fwdDown.toFixed(1),
    uploadRatio: +(fwdUp / loopUp).toFixed(3),
    downloadRatio: +(fwdDown / loopDown).toFixed(3),
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

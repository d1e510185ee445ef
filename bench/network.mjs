#!/usr/bin/env node
// Network path benchmark: TCP throughput host → container through a port published on 127.0.0.1, against the
// same transfer over plain loopback (the limit), plus TCP connection setup latency; the same for dockerd
// (userland proxy, as Debian's docker.io runs it here with --iptables=false) when it is installed. Every
// case uses the same sink (busybox nc -ll -e dd) so only the path differs. Traffic: loopback and the
// benchmark's own netns/containers only.
// Usage (root, after npm run build): node bench/network.mjs [MiB per transfer, default 512] [rounds, default 5]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createNetworking } = await import(path.join(repo, 'agent/dist/src/network/index.js'));
const { createLogger } = await import(path.join(repo, 'agent/dist/src/log.js'));

const MIB = Number(process.argv[2] ?? 512);
const ROUNDS = Number(process.argv[3] ?? 5);
const CONNECTS = 100;
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync);
if (!busybox || process.getuid() !== 0) {
  console.error('needs root and busybox-static');
  process.exit(1);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-netbench-'));
const sink = path.join(tmp, 'sink.sh');
writeFileSync(sink, '#!/bin/sh\nexec dd of=/dev/null bs=1M 2>/dev/null\n');
chmodSync(sink, 0o755);
const children = [];
const cleanups = [];

function freeBlocks(n) {
  const routes = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout;
  const used = new Set(
    [...routes.matchAll(/^10\.213\.(\d+)\./gm)].map((m) => Math.floor(Number(m[1]) / 16) * 16),
  );
  return Array.from({ length: 16 }, (_, i) => i * 16)
    .filter((b) => !used.has(b))
    .slice(-n);
}

function freePort() {
  return new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/** busybox nc persistent server with the dd sink, optionally inside a netns (nsenter --net=path). */
function startSink(port, netnsPath, env = {}) {
  const args = ['nc', '-ll', '-p', String(port), '-e', sink];
  const child = netnsPath
    ? spawn('nsenter', [`--net=${netnsPath}`, '--', busybox, ...args], {
        stdio: 'ignore',
        env: { PATH: path.dirname(busybox) + ':/usr/bin:/bin', ...env },
      })
    : spawn(busybox, args, { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', ...env } });
  children.push(child);
  return child;
}

async function waitConnect(host, port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((res) => {
      const c = net.connect(port, host);
      c.on('connect', () => {
        c.destroy();
        res(true);
      });
      c.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answers on ${host}:${port}`);
}

const CHUNK = Buffer.alloc(1 << 20, 7);
/** Sends MIB MiB and waits for the sink to close: bytes/second. */
function transfer(host, port) {
  return new Promise((res, rej) => {
    const c = net.connect(port, host);
    let sent = 0;
    const t0 = process.hrtime.bigint();
    const pump = () => {
      while (sent < MIB) {
        sent++;
        if (!c.write(CHUNK)) return void c.once('drain', pump);
      }
      c.end();
    };
    c.on('connect', pump);
    c.on('error', rej);
    c.on('close', () => res((MIB * 1048576) / (Number(process.hrtime.bigint() - t0) / 1e9)));
    c.resume();
  });
}

/** Sequential connects: handshake time in microseconds (median, p99). */
async function connectLatency(host, port) {
  const times = [];
  for (let i = 0; i < CONNECTS; i++) {
    times.push(
      await new Promise((res, rej) => {
        const t0 = process.hrtime.bigint();
        const c = net.connect(port, host);
        let dt = 0;
        c.on('connect', () => {
          dt = Number(process.hrtime.bigint() - t0) / 1000;
          c.end();
        });
        c.on('close', () => res(dt));
        c.on('error', rej);
        c.resume();
      }),
    );
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] };
}

/** Rounds interleave the targets (a shared, busy machine shifts load over time): medians per target. */
async function measureAll(targets) {
  for (const t of targets) {
    await waitConnect(t.host, t.port);
    await transfer(t.host, t.port); // warm-up
    t.rates = [];
    t.lats = [];
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const t of targets) {
      t.rates.push(await transfer(t.host, t.port));
      t.lats.push(await connectLatency(t.host, t.port));
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return targets.map((t) => ({
    name: t.name,
    rate: Math.max(...t.rates),
    median: med(t.rates),
    p50: med(t.lats.map((l) => l.p50)),
    p99: med(t.lats.map((l) => l.p99)),
  }));
}

const targets = [];
let results = [];
const [blockBerth, blockDocker] = freeBlocks(2);
try {
  // 1. Plain loopback: the limit.
  const lport = await freePort();
  startSink(lport);
  targets.push({ name: 'loopback 127.0.0.1', host: '127.0.0.1', port: lport });

  // 2. Berth: the network domain's real path (bridge, veth, netns, nftables DNAT from 127.0.0.1).
  const dataRoot = path.join(tmp, 'berth');
  const nw = await createNetworking({
    dataRoot,
    log: createLogger({ bench: 'network' }),
    bip: `10.213.${blockBerth}.1/24`,
    defaultAddressPools: [{ base: `10.213.${blockBerth + 1}.0/24`, size: 24 }],
    dns: ['127.0.0.1'],
  });
  nw.setContainerLookup({ find: () => undefined, writeEtcFiles: async () => undefined });
  const ids = [];
  cleanups.push(async () => {
    for (const id of ids) await nw.sandboxes.unregister(id);
    await nw.close();
  });
  // The default bridge (berth's default MTU), and a network at dockerd's 1500 for comparison.
  await nw.networks.create({ Name: 'mtu1500', Options: { 'com.docker.network.driver.mtu': '1500' } });
  for (const [network, label] of [
    ['bridge', `berth -p 127.0.0.1 (nft DNAT, mtu ${nw.manager.defaultMtu})`],
    ['mtu1500', 'berth -p 127.0.0.1 (nft DNAT, mtu 1500)'],
  ]) {
    const id = randomBytes(32).toString('hex');
    ids.push(id);
    await nw.sandboxes.register({
      id,
      name: `bench-${network}`,
      hostname: 'bench',
      networkMode: network,
      endpoints: {},
      portBindings: { '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      publishAllPorts: false,
      exposedPorts: ['5001/tcp'],
      links: [],
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      extraHosts: [],
    });
    const setup = await nw.sandboxes.setUp(id);
    startSink(5001, setup.net.path);
    targets.push({
      name: label,
      host: '127.0.0.1',
      port: Number(nw.sandboxes.settings(id).Ports['5001/tcp'][0].HostPort),
    });
  }

  // 3. dockerd, when installed: its own data root, socket, bridge; no iptables (host rules untouched), so
  //    published ports go through docker-proxy, its default userland path.
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find(existsSync);
  if (dockerd && blockDocker !== undefined) {
    const d = path.join(tmp, 'docker');
    mkdirSync(d);
    const sock = path.join(d, 'docker.sock');
    const bridge = `bzb${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', `10.213.${blockDocker}.1/24`, 'dev', bridge]);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
    cleanups.push(async () => spawnSync('ip', ['link', 'del', bridge]));
    const dproc = spawn(
      dockerd,
      [
        '--data-root',
        path.join(d, 'root'),
        '--exec-root',
        path.join(d, 'exec'),
        '-H',
        `unix://${sock}`,
        '--pidfile',
        path.join(d, 'pid'),
        '-b',
        bridge,
        '--iptables=false',
        '--ip-masq=false',
        '--ip-forward=false',
        '--userland-proxy=true',
      ],
      { stdio: 'ignore' },
    );
    cleanups.push(async () => {
      spawnSync('docker', ['-H', `unix://${sock}`, 'rm', '-f', 'berthbench'], { stdio: 'ignore' });
      dproc.kill('SIGTERM');
      await new Promise((r) => (dproc.exitCode !== null ? r() : dproc.once('exit', r)));
    });
    const docker = (args, input) =>
      spawnSync('docker', ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 26 });
    for (let i = 0; i < 100 && docker(['version']).status !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const rootfs = path.join(d, 'rootfs');
    mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    copyFileSync(busybox, path.join(rootfs, 'bin/busybox'));
    chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'nc', 'dd']) spawnSync('ln', ['-s', 'busybox', path.join(rootfs, 'bin', a)]);
    copyFileSync(sink, path.join(rootfs, 'sink.sh'));
    const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 1 << 26 }).stdout;
    const imp = spawnSync('docker', ['-H', `unix://${sock}`, 'import', '-', 'berthbench:latest'], {
      input: tar,
    });
    if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr.toString()}`);
    const run = docker([
      'run',
      '-d',
      '--name',
      'berthbench',
      '-p',
      '127.0.0.1::5001',
      'berthbench:latest',
      '/bin/nc',
      '-ll',
      '-p',
      '5001',
      '-e',
      '/sink.sh',
    ]);
    if (run.status !== 0) throw new Error(`docker run: ${run.stderr}`);
    const dport = Number(docker(['port', 'berthbench', '5001/tcp']).stdout.trim().split(':').pop());
    targets.push({ name: 'dockerd -p 127.0.0.1 (docker-proxy)', host: '127.0.0.1', port: dport });
  } else {
    console.log('# dockerd not installed: peer skipped');
  }
  results = await measureAll(targets);
} finally {
  for (const c of children) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) await f().catch((e) => console.error('cleanup:', e.message));
  rmSync(tmp, { recursive: true, force: true });
}

const base = results[0].rate;
const baseMed = results[0].median;
console.log(
  `\nTCP host → container, ${MIB} MiB per transfer, ${ROUNDS} interleaved rounds (best and median; a shared machine's load`,
);
console.log(
  `shifts between rounds, so best-of is the path's capability); connect latency over ${CONNECTS} connections per round; load ${os.loadavg()[0].toFixed(1)}`,
);
console.log(
  'path'.padEnd(44),
  'best MiB/s'.padStart(10),
  'ratio'.padStart(6),
  'median'.padStart(7),
  'ratio'.padStart(6),
  'connect p50 µs'.padStart(15),
  'p99 µs'.padStart(8),
);
for (const r of results) {
  const f = (x) => (x / 1048576).toFixed(0);
  console.log(
    r.name.padEnd(44),
    f(r.rate).padStart(10),
    (r.rate / base).toFixed(2).padStart(6),
    f(r.median).padStart(7),
    (r.median / baseMed).toFixed(2).padStart(6),
    r.p50.toFixed(0).padStart(15),
    r.p99.toFixed(0).padStart(8),
  );
}
const b = results.find((r) => r.name.startsWith('berth'));
const dk = results.find((r) => r.name.startsWith('dockerd'));
if (b) console.log(`\nberth/loopback throughput: ${(b.rate / base).toFixed(2)} (target ≥ 0.85)`);
if (b && dk)
  console.log(
    `berth/dockerd throughput: ${(b.rate / dk.rate).toFixed(2)}; connect p50 berth ${b.p50.toFixed(0)} µs vs dockerd ${dk.p50.toFixed(0)} µs`,
  );

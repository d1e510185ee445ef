/**
 * The network domain against the real kernel (root): netns, bridges, veths, IPAM, nftables DNAT, the embedded
 * DNS answering busybox nslookup inside a netns, connect/disconnect, rollback, reconcile after a "crash", and
 * 100 attach/detach cycles that must leak nothing. Traffic stays on loopback and the netns made here
 * (addresses from a free /20 of 10.213.0.0/16); upstream DNS is a fake server on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/log.js';
import { buildReply, parseQuery, TYPE_A } from '../src/network/dns/wire.js';
import { createNetworking, type Networking } from '../src/network/index.js';
import { IprouteKernel } from '../src/sys/net.js';
import type { ContainerNetworkRequest } from '../src/network/types.js';
import { httpStatus } from './http-status.js';

const IS_ROOT = process.getuid?.() === 0;
const HAVE_TOOLS =
  spawnSync('sh', ['-c', 'command -v nft && command -v ip && command -v busybox && command -v nsenter'])
    .status === 0;
if (process.env.CI === 'true' && !(IS_ROOT && HAVE_TOOLS))
  throw new Error('required under CI: root with nft, ip, busybox, nsenter');
const skip = !(IS_ROOT && HAVE_TOOLS) ? 'needs root and nft/ip/busybox/nsenter' : false;

/** A random /20 of 10.213.0.0/16 no host route uses: concurrent runs of this file (other worktrees) must not
 *  give two bridges the same subnet. */
function freeBlock(): number {
  const routes = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout;
  const used = new Set(
    [...routes.matchAll(/^10\.213\.(\d+)\./gm)].map((m) => Math.floor(Number(m[1]) / 16) * 16),
  );
  const free = Array.from({ length: 16 }, (_, i) => i * 16).filter((b) => !used.has(b));
  return free[Math.floor(Math.random() * free.length)] ?? 0;
}
const B = freeBlock();
/** 10.213.<B+off> */
const N = (off: number): string => `10.213.${B + off}`;
const rx = (s: string): RegExp => new RegExp(s.replace(/\./g, '\\.'));

const k = new IprouteKernel();
const log = createLogger({ test: 'network-kernel' });
const FAKE_ANSWER = '10.213.111.222';

/** Async on purpose: the DNS server under test lives in this process, so the event loop must keep running. */
function sh(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

/** A fake upstream resolver on 127.0.0.1: every A question gets FAKE_ANSWER. */
async function fakeUpstream(): Promise<{ addr: string; close(): void; queries: string[] }> {
  const queries: string[] = [];
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, r) => {
    const q = parseQuery(msg);
    queries.push(q.question.name);
    const ip = FAKE_ANSWER.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    s.send(buildReply(msg, q, 0, [{ type: TYPE_A, name: q.question.name, ttl: 5, ip }]), r.port, r.address);
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  return { addr: `127.0.0.1:${s.address().port}`, close: () => s.close(), queries };
}

/** A node process inside a netns serving TCP (echoes a greeting) and UDP (echoes) on the given ports. */
function serveInNetns(
  netnsPath: string,
  tcpPort: number,
  udpPort: number,
  greeting: string,
): { stop(): void; ready: Promise<void> } {
  const code = `
    const net=require('net'),dg=require('dgram');
    net.createServer(s=>s.end(${JSON.stringify(greeting)})).listen(${tcpPort},'0.0.0.0',()=>{
      const u=dg.createSocket('udp4');u.on('message',(m,r)=>u.send('udp:'+m,r.port,r.address));
      u.bind(${udpPort},()=>console.log('ready'));
    });`;
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && res());
    child.on('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  return { stop: () => child.kill('SIGKILL'), ready };
}

function tcpGet(host: string, port: number): Promise<string> {
  return new Promise((res, rej) => {
    const c = net.connect(port, host);
    let out = '';
    c.setTimeout(5000, () => c.destroy(new Error('timeout')));
    c.on('data', (d) => (out += d.toString()));
    c.on('end', () => res(out));
    c.on('error', rej);
  });
}

function udpAsk(host: string, port: number, msg: string): Promise<string> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      rej(new Error('udp timeout'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      res(m.toString());
    });
    s.send(msg, port, host);
  });
}

function req(id: string, name: string, over: Partial<ContainerNetworkRequest> = {}): ContainerNetworkRequest {
  return {
    id,
    name,
    hostname: id.slice(0, 12),
    networkMode: 'bridge',
    endpoints: {},
    portBindings: {},
    publishAllPorts: false,
    exposedPorts: [],
    links: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    ...over,
  };
}

const hex = (c: string) => c.repeat(64);

describe('network domain on the real kernel', { skip, concurrency: false }, () => {
  let dataRoot: string;
  let nw: Networking;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  const containers = new Map<string, { id: string; name: string; running: boolean }>();
  const etcWrites: string[] = [];
  const prefixOf = () => nw.manager.names.prefix;

  const ourLinks = async () =>
    (await k.links()).filter((l) => l.name.startsWith(prefixOf())).map((l) => l.name);
  const ourNetns = async () => (await k.netnsList()).filter((n) => n.startsWith(prefixOf() + '-'));
  const nftTable = async () => (await sh('nft', ['list', 'table', 'ip', nw.manager.names.table])).out;

  async function open(): Promise<Networking> {
    const n = await createNetworking({
      dataRoot,
      log,
      bip: `${N(0)}.1/24`,
      defaultAddressPools: [{ base: `${N(4)}.0/22`, size: 24 }],
      dns: [upstream.addr],
      containers: {
        find: (ref) =>
          containers.get(ref) ?? [...containers.values()].find((c) => c.name === ref || c.id.startsWith(ref)),
        writeEtcFiles: async (id) => {
          etcWrites.push(id);
        },
      },
    });
    return n;
  }

  before(async () => {
    dataRoot = mkdtempSync(path.join(os.tmpdir(), 'berth-netk-'));
    upstream = await fakeUpstream();
    nw = await open();
  });

  after(async () => {
    // After a failure, leave nothing on the host either.
    for (const id of [...(nw?.manager.store.containers.keys() ?? [])])
      await nw.sandboxes.unregister(id).catch(() => undefined);
    await nw?.close();
    upstream?.close();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('creates the default bridge with --bip and a user network from the pool, with their rules', async () => {
    const br = nw.networks.inspect('bridge');
    assert.equal(br.IPAM.Config?.[0]?.Subnet, `${N(0)}.0/24`);
    const { Id } = await nw.networks.create({ Name: 'tnet', Labels: { t: '1' } });
    const tnet = nw.networks.inspect(Id);
    assert.ok(
      [4, 5, 6, 7].some((o) => tnet.IPAM.Config?.[0]?.Subnet === `${N(o)}.0/24`),
      tnet.IPAM.Config?.[0]?.Subnet,
    );
    const addrs = await k.addrs();
    assert.ok(addrs.some((a) => a.dev === nw.manager.names.defaultBridge && a.cidr === `${N(0)}.1/24`));
    assert.match(await nftTable(), /masquerade/);
    await assert.rejects(nw.networks.create({ Name: 'tnet' }), httpStatus(409));
    await assert.rejects(
      nw.networks.create({ Name: 'x', IPAM: { Config: [{ Subnet: `${N(0)}.0/25` }] } }),
      httpStatus(403),
    );
    await assert.rejects(
      nw.networks.create({ Name: 'x', IPAM: { Config: [{ Subnet: `${N(1)}.5/24` }] } }),
      rx(`it should be ${N(1)}.0/24`),
    );
  });

  it('wires containers: addresses, published TCP/UDP from 127.0.0.1, DNS by name/alias/short id, upstream forwarding', async () => {
    const A = hex('a');
    const B = hex('b');
    const C = hex('c');
    containers.set(A, { id: A, name: 'web', running: true });
    containers.set(B, { id: B, name: 'client', running: true });
    containers.set(C, { id: C, name: 'pub', running: true });
    await nw.sandboxes.register(
      req(A, 'web', { networkMode: 'tnet', endpoints: { tnet: { Aliases: ['www'] } } }),
    );
    await nw.sandboxes.register(req(B, 'client', { networkMode: 'tnet' }));
    await nw.sandboxes.register(
      req(C, 'pub', {
        portBindings: {
          '8080/tcp': [
            { HostIp: '127.0.0.1', HostPort: '' },
            { HostIp: '', HostPort: '' },
          ],
          '8081/udp': [{ HostIp: '127.0.0.1' }],
        },
        exposedPorts: ['8080/tcp', '8081/udp'],
      }),
    );
    const sa = await nw.sandboxes.setUp(A);
    const sb = await nw.sandboxes.setUp(B);
    const sc = await nw.sandboxes.setUp(C);
    assert.equal(sa.net.mode, 'join');
    assert.match(sa.etc.resolvConf, /nameserver 127\.0\.0\.11/);
    assert.doesNotMatch(sc.etc.resolvConf, /127\.0\.0\.11/);
    const aIp = nw.sandboxes.settings(A).Networks.tnet.IPAddress!;
    const cSet = nw.sandboxes.settings(C);
    assert.match(cSet.IPAddress, rx(`^${N(0)}.`));
    assert.match(sc.etc.hosts, new RegExp(`${cSet.IPAddress.replace(/\./g, '\\.')}\\t${C.slice(0, 12)}`));
    const nsA = sa.net.mode === 'join' ? sa.net.path : '';
    const nsB = sb.net.mode === 'join' ? sb.net.path : '';
    const nsC = sc.net.mode === 'join' ? sc.net.path : '';
    const inB = (args: string[]) => sh('nsenter', [`--net=${nsB}`, '--', ...args]);

    // Published ports, through kernel DNAT.
    const srv = serveInNetns(nsC, 8080, 8081, 'hello-pub');
    try {
      await srv.ready;
      const tcp127 = cSet.Ports['8080/tcp']!.find((p) => p.HostIp === '127.0.0.1')!;
      const tcpAny = cSet.Ports['8080/tcp']!.find((p) => p.HostIp === '0.0.0.0')!;
      const udp127 = cSet.Ports['8081/udp']![0];
      assert.equal(await tcpGet('127.0.0.1', Number(tcp127.HostPort)), 'hello-pub');
      assert.equal(await tcpGet('127.0.0.1', Number(tcpAny.HostPort)), 'hello-pub');
      assert.equal(await udpAsk('127.0.0.1', Number(udp127.HostPort), 'x'), 'udp:x');
      // Hairpin across networks: a tnet container reaches C through the host (its gateway) and the 0.0.0.0 port.
      const gw = nw.networks.inspect('tnet').IPAM.Config![0].Gateway!;
      const hp = await inB(['busybox', 'nc', '-w', '3', gw, tcpAny.HostPort!]);
      assert.equal(hp.out, 'hello-pub', hp.err);
      assert.deepEqual(
        nw.sandboxes
          .ports(C)
          .map((p) => `${p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`)
          .sort(),
        [
          `0.0.0.0:${tcpAny.HostPort}->8080/tcp`,
          // A binding without an address takes "::" too, on the same port, as dockerd reports it.
          `:::${tcpAny.HostPort}->8080/tcp`,
          `127.0.0.1:${tcp127.HostPort}->8080/tcp`,
          `127.0.0.1:${udp127.HostPort}->8081/udp`,
        ].sort(),
      );
      // That IPv6 socket proxies to the container (no NAT for IPv6 host addresses).
      assert.equal(await tcpGet('::1', Number(tcpAny.HostPort)), 'hello-pub');
    } finally {
      srv.stop();
    }

    // The container's interface: address, MAC from the address, default route via the gateway.
    const ipA = (await sh('nsenter', [`--net=${nsA}`, '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']))
      .out;
    assert.match(ipA, new RegExp(aIp.replace(/\./g, '\\.')));
    assert.match(
      (await sh('nsenter', [`--net=${nsA}`, '--', 'ip', 'route'])).out,
      /default via 10\.213\.\d+\.1 dev eth0/,
    );

    // Embedded DNS through 127.0.0.11 inside the netns.
    for (const name of ['web', 'www', A.slice(0, 12), 'web.tnet', 'WEB']) {
      const r = await inB(['busybox', 'nslookup', name, '127.0.0.11']);
      assert.match(
        r.out,
        new RegExp(`Address:\\s*${aIp.replace(/\./g, '\\.')}`),
        `${name}: ${r.out}${r.err}`,
      );
    }
    const ext = await inB(['busybox', 'nslookup', 'example.test', '127.0.0.11']);
    assert.match(ext.out, new RegExp(FAKE_ANSWER.replace(/\./g, '\\.')), ext.out + ext.err);
    assert.ok(upstream.queries.includes('example.test'));
    // DNS over TCP, from a raw client inside the netns.
    const tcpq = await sh('nsenter', [
      `--net=${nsB}`,
      '--',
      process.execPath,
      '-e',
      `const n=require('net');const q=Buffer.from(process.argv[1],'hex');const s=n.connect(53,'127.0.0.11',()=>{const h=Buffer.alloc(2);h.writeUInt16BE(q.length);s.write(Buffer.concat([h,q]))});let b=Buffer.alloc(0);s.on('data',d=>{b=Buffer.concat([b,d]);if(b.length>=2&&b.length>=2+b.readUInt16BE(0)){console.log(b.subarray(2).toString('hex'));s.destroy()}});`,
      (await import('../src/network/dns/wire.js')).buildQuery(7, 'www', TYPE_A).toString('hex'),
    ]);
    const { parseReply } = await import('../src/network/dns/wire.js');
    const rep = parseReply(Buffer.from(tcpq.out.trim(), 'hex'));
    assert.equal(rep.id, 7);
    assert.deepEqual(
      rep.answers.map((a) => (a.type === TYPE_A ? a.ip : 0)),
      [aIp.split('.').reduce((x, o) => x * 256 + Number(o), 0)],
    );
    // The default bridge container is not on a user network: it cannot query the embedded DNS.
    const fromC = await sh('nsenter', [
      `--net=${nsC}`,
      '--',
      'busybox',
      'nslookup',
      'web',
      nw.networks.inspect('tnet').IPAM.Config![0].Gateway!,
    ]);
    assert.doesNotMatch(fromC.out, new RegExp(aIp.replace(/\./g, '\\.')));

    // Inspect of the network lists its containers with addresses.
    const insp = nw.networks.inspect('tnet');
    assert.deepEqual(
      Object.values(insp.Containers)
        .map((c) => c.Name)
        .sort(),
      ['client', 'web'],
    );
    await assert.rejects(nw.networks.remove('tnet'), httpStatus(409));

    // Live connect: C joins tnet, gets eth1, becomes resolvable; disconnect takes it away.
    await nw.sandboxes.connect('tnet', 'pub', { Aliases: ['pubalias'] });
    assert.ok(etcWrites.includes(C));
    const cTnet = nw.sandboxes.settings(C).Networks.tnet.IPAddress!;
    assert.match(
      (await sh('nsenter', [`--net=${nsC}`, '--', 'ip', '-4', '-o', 'addr'])).out,
      new RegExp(`eth1.*${cTnet.replace(/\./g, '\\.')}`),
    );
    assert.match(
      (await inB(['busybox', 'nslookup', 'pubalias', '127.0.0.11'])).out,
      new RegExp(cTnet.replace(/\./g, '\\.')),
    );
    await assert.rejects(nw.sandboxes.connect('tnet', 'pub', {}), httpStatus(403));
    await nw.sandboxes.disconnect('tnet', 'pub', false);
    assert.doesNotMatch((await sh('nsenter', [`--net=${nsC}`, '--', 'ip', '-o', 'link'])).out, /eth1/);

    for (const id of [A, B, C]) await nw.sandboxes.tearDown(id);
    assert.deepEqual(await ourNetns(), []);
    assert.equal(nw.manager.ipam.allocatedCount(), 0);
    assert.doesNotMatch(await nftTable(), /dnat to/);
    assert.ok(!(await ourLinks()).some((l) => nw.manager.names.isVeth(l)));
  });

  it('rejects bad requests at register with Docker statuses and leaks nothing on a failed setup', async () => {
    const D = hex('d');
    containers.set(D, { id: D, name: 'bad', running: true });
    await assert.rejects(nw.sandboxes.register(req(D, 'bad', { networkMode: 'nope' })), httpStatus(404));
    await assert.rejects(
      nw.sandboxes.register(req(D, 'bad', { endpoints: { bridge: { Aliases: ['x'] } } })),
      httpStatus(400),
    );
    await assert.rejects(
      nw.sandboxes.register(
        req(D, 'bad', {
          networkMode: 'tnet',
          endpoints: { tnet: { IPAMConfig: { IPv4Address: `${N(4)}.9` } } },
        }),
      ),
      /user configured subnets/,
    );
    await assert.rejects(
      nw.sandboxes.register(req(D, 'bad', { portBindings: { '99999/tcp': [] } })),
      httpStatus(400),
    );
    await assert.rejects(nw.sandboxes.register(req(D, 'bad', { extraHosts: ['nocolon'] })), httpStatus(400));

    // A static network, then a second network whose bridge vanishes under us: setUp fails and rolls back.
    await nw.networks.create({
      Name: 'snet',
      IPAM: { Config: [{ Subnet: `${N(8)}.0/24`, IPRange: `${N(8)}.128/25` }] },
    });
    await nw.networks.create({ Name: 'gone' });
    await nw.sandboxes.register(
      req(D, 'bad', {
        networkMode: 'snet',
        endpoints: { snet: { IPAMConfig: { IPv4Address: `${N(8)}.7` } }, gone: {} },
      }),
    );
    const goneBridge = nw.manager.store.findNetwork('gone')!.bridge!;
    await sh('ip', ['link', 'del', goneBridge]);
    await assert.rejects(nw.sandboxes.setUp(D));
    assert.deepEqual(await ourNetns(), []);
    assert.equal(nw.manager.ipam.allocatedCount(), 0);
    assert.ok(!(await ourLinks()).some((l) => nw.manager.names.isVeth(l)));
    await nw.networks.remove('gone');

    // The static address is honoured; a second holder conflicts.
    await nw.sandboxes.register(
      req(D, 'bad', {
        networkMode: 'snet',
        endpoints: { snet: { IPAMConfig: { IPv4Address: `${N(8)}.7` } } },
      }),
    );
    await nw.sandboxes.setUp(D);
    assert.equal(nw.sandboxes.settings(D).Networks.snet.IPAddress, `${N(8)}.7`);
    const E = hex('e');
    containers.set(E, { id: E, name: 'e', running: true });
    await nw.sandboxes.register(
      req(E, 'e', { networkMode: 'snet', endpoints: { snet: { IPAMConfig: { IPv4Address: `${N(8)}.7` } } } }),
    );
    await assert.rejects(nw.sandboxes.setUp(E), httpStatus(409));
    // Dynamic addresses come from the ip-range.
    await nw.sandboxes.register(req(E, 'e', { networkMode: 'snet' }));
    await nw.sandboxes.setUp(E);
    assert.equal(nw.sandboxes.settings(E).Networks.snet.IPAddress, `${N(8)}.128`);
    await nw.sandboxes.tearDown(E);
    await nw.sandboxes.unregister(E);
  });

  it('reconciles after a crash: stray netns, veths, allocations and rules go; live ones stay', async () => {
    const D = hex('d');
    const F = hex('f');
    containers.set(F, { id: F, name: 'f', running: true });
    await nw.sandboxes.register(req(F, 'f', { portBindings: { '80/tcp': [{ HostIp: '127.0.0.1' }] } }));
    await nw.sandboxes.setUp(F);
    // "kill -9": drop the instance without close(); plant a stray veth with our prefix.
    await nw.manager.dns.close();
    nw.manager.ports.releaseAll();
    const stray = nw.manager.names.vethFor('deadbeefdeadbeef');
    await sh('ip', ['link', 'add', stray, 'type', 'veth', 'peer', 'name', `${stray.slice(0, 12)}p`]);
    nw = await open();
    await nw.sandboxes.reconcile(new Set([D]), new Set([D]));
    const links = await ourLinks();
    assert.ok(!links.includes(stray));
    assert.equal((await ourNetns()).length, 1, 'only D stays');
    assert.equal(nw.manager.ipam.allocatedCount(), 1);
    assert.doesNotMatch(await nftTable(), /dnat to/);
    assert.equal(
      nw.sandboxes.settings(D).Networks.snet.IPAddress,
      `${N(8)}.7`,
      'static address survives the restart',
    );
    await nw.sandboxes.unregister(D);
    assert.deepEqual(await ourNetns(), []);
  });

  it('100 attach/detach cycles leave no veth, netns, allocation or rule behind', async () => {
    const G = hex('9');
    containers.set(G, { id: G, name: 'cyc', running: true });
    await nw.sandboxes.register(
      req(G, 'cyc', { networkMode: 'tnet', portBindings: { '80/tcp': [{ HostIp: '127.0.0.1' }] } }),
    );
    const before = (await ourLinks()).sort();
    for (let i = 0; i < 100; i++) {
      await nw.sandboxes.setUp(G);
      await nw.sandboxes.tearDown(G);
    }
    await nw.sandboxes.unregister(G);
    assert.deepEqual((await ourLinks()).sort(), before, 'only our own bridges remain');
    assert.deepEqual(await ourNetns(), []);
    assert.equal(nw.manager.ipam.allocatedCount(), 0);
    assert.doesNotMatch(await nftTable(), /dnat to/);
  });

  it('sweeps the bridges, netns and table of a dead daemon whose data root is gone, and only those', async () => {
    const reg = mkdtempSync(path.join(os.tmpdir(), 'berth-netreg-'));
    const tag = `z${Math.random()
      .toString(36)
      .slice(2, 5)
      .replace(/[^a-z0-9]/g, 'q')}`;
    const dead = `b${tag}`.slice(0, 5);
    const alive = `c${tag}`.slice(0, 5);
    try {
      const { registerDaemon } = await import('../src/network/janitor.js');
      await registerDaemon(dead, path.join(reg, 'gone-data-root'), reg);
      await registerDaemon(alive, reg, reg);
      for (const p of [dead, alive]) {
        await sh('ip', ['link', 'add', `${p}0`, 'type', 'bridge']);
        await sh('ip', ['netns', 'add', `${p}-x`]);
        await sh('nft', ['add', 'table', 'ip', p]);
      }
      const otherRoot = mkdtempSync(path.join(os.tmpdir(), 'berth-netk2-'));
      const other = await createNetworking({
        dataRoot: otherRoot,
        log,
        bip: `${N(12)}.1/24`,
        registryDir: reg,
      });
      await other.close();
      rmSync(otherRoot, { recursive: true, force: true });
      assert.ok(!(await k.links()).some((l) => l.name === `${dead}0`));
      assert.ok(!(await k.netnsList()).includes(`${dead}-x`));
      assert.equal((await sh('nft', ['list', 'table', 'ip', dead])).code, 1);
      assert.ok(
        (await k.links()).some((l) => l.name === `${alive}0`),
        'a daemon whose data root exists keeps its objects',
      );
    } finally {
      await sh('ip', ['link', 'del', `${alive}0`]);
      await sh('ip', ['netns', 'del', `${alive}-x`]);
      await sh('nft', ['delete', 'table', 'ip', alive]);
      rmSync(reg, { recursive: true, force: true });
    }
  });

  it('prunes unused networks and removes every kernel object on close', async () => {
    const deleted = await nw.networks.prune(new Map());
    assert.deepEqual(deleted.sort(), ['snet', 'tnet']);
    await nw.close();
    assert.deepEqual(await ourLinks(), []);
    assert.equal((await sh('nft', ['list', 'table', 'ip', nw.manager.names.table])).code, 1);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../src/ports/free-port.js';
import { PortForwarder } from '../src/ports/forwarder.js';
import { listedPorts, listedTcpPorts, publishedPorts, publishedTcpPorts } from '../src/ports/published.js';
import { SshPortPublisher } from '../src/ports/publisher.js';
import { ContainerPortWatcher } from '../src/ports/watcher.js';
import { forwardUnixSocket } from '../src/tunnel/socket-forward.js';

/** Stands in for "a port inside the VM": the dial function connects to a local server on that port. */
const localDial = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });

function roundTrip(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => s.end(payload));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describe('published ports', () => {
  it('takes TCP ports bound to all interfaces or loopback, from inspect and list payloads', () => {
    assert.deepEqual(
      publishedTcpPorts({
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '8080' },
          { HostIp: '::', HostPort: '8080' },
        ],
        '53/udp': [{ HostIp: '', HostPort: '53' }],
        '443/tcp': [{ HostIp: '10.0.0.5', HostPort: '8443' }],
        '22/tcp': null,
        '9/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
      }),
      [8080, 9000],
    );
    assert.deepEqual(publishedTcpPorts(undefined), []);
    assert.deepEqual(publishedTcpPorts({ '80/tcp': [{ HostPort: 'x' }, { HostPort: '70000' }] }), []);
    assert.deepEqual(
      listedTcpPorts([
        { PrivatePort: 80, PublicPort: 8081, Type: 'tcp', IP: '0.0.0.0' },
        { PrivatePort: 81, Type: 'tcp' },
        { PrivatePort: 53, PublicPort: 53, Type: 'udp' },
      ]),
      [8081],
    );
  });

  it('a port published on the guest ::1 only is forwarded from the host ::1 to [::1] inside', async () => {
    // `-p [::1]:P:80` in the guest: berthd binds only [::1]:P there (as dockerd), so the forward must end at
    // [::1] inside; the host side listens on its ::1 too.
    const ports = publishedPorts({
      '80/tcp': [{ HostIp: '::1', HostPort: '18099' }],
      '81/tcp': [
        { HostIp: '127.0.0.1', HostPort: '18098' },
        { HostIp: '::1', HostPort: '18098' },
      ],
    });
    assert.deepEqual(ports, [
      { proto: 'tcp', port: 18098, loopbackOnly: true },
      { proto: 'tcp', port: 18099, loopbackOnly: true, ipv6Loopback: true },
    ]);
    const inside = net.createServer((s) => s.end('from-guest-v6')).listen(0, '::1');
    await new Promise((r) => inside.once('listening', r));
    const guestPort = (inside.address() as net.AddressInfo).port;
    const dialed: (string | undefined)[] = [];
    const fwd = new PortForwarder((port, host) => {
      dialed.push(host);
      return new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ port, host: host ?? '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
        s.once('error', reject);
      });
    });
    const hostPort = await freePort();
    try {
      assert.equal(
        await new SshPortPublisher(fwd, () => {}).add('c6', {
          proto: 'tcp',
          port: hostPort,
          loopbackOnly: true,
          ipv6Loopback: true,
        }),
        true,
      );
      // The SSH publisher forwards host port P to guest port P: here the stand-in guest listens elsewhere.
      await fwd.removeOwner('c6');
      assert.equal(await fwd.add({ hostPort, guestPort, owner: 'c6', ipv6Loopback: true }), true);
      const got = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ port: hostPort, host: '::1' });
        let b = '';
        s.on('data', (d) => (b += d.toString()));
        s.on('end', () => resolve(b));
        s.on('error', reject);
      });
      assert.equal(got, 'from-guest-v6');
      assert.deepEqual(dialed, ['::1']);
    } finally {
      await fwd.closeAll();
      inside.close();
    }
  });

  it("lists tcp and udp ports, marking those bound to loopback only (they cannot arrive through the VM's network card)", () => {
    assert.deepEqual(
      publishedPorts({
        '80/tcp': [
          { HostIp: '127.0.0.1', HostPort: '8080' },
          { HostIp: '0.0.0.0', HostPort: '8080' },
        ],
        '53/udp': [{ HostIp: '', HostPort: '5353' }],
        '9/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
        '7/sctp': [{ HostPort: '7' }],
      }),
      [
        { proto: 'udp', port: 5353, loopbackOnly: false },
        { proto: 'tcp', port: 8080, loopbackOnly: false },
        { proto: 'tcp', port: 9000, loopbackOnly: true },
      ],
    );
    assert.deepEqual(listedPorts([{ PrivatePort: 53, PublicPort: 53, Type: 'udp', IP: '0.0.0.0' }]), [
      { proto: 'udp', port: 53, loopbackOnly: false },
    ]);
  });
});

describe('port forwarder', () => {
  let echo: net.Server;
  let echoPort: number;
  before(async () => {
    // Echoes in upper case, then half-closes after the client does: checks both directions and EOF.
    echo = net.createServer({ allowHalfOpen: true }, (s) => {
      let buf = '';
      s.on('data', (d) => (buf += d.toString()));
      s.on('end', () => s.end(buf.toUpperCase()));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  after(() => echo.close());

  it('listens on 127.0.0.1 and pipes each connection to the guest port, half-close included', async () => {
    const errors: string[] = [];
    const f = new PortForwarder(localDial, (m) => errors.push(m));
    const hostPort = await freePort();
    assert.equal(await f.add({ hostPort, guestPort: echoPort, owner: 'c1' }), true);
    assert.equal(await roundTrip(hostPort, 'hello through the tunnel'), 'HELLO THROUGH THE TUNNEL');
    const big = 'x'.repeat(3 * 1024 * 1024);
    assert.equal((await roundTrip(hostPort, big)).length, big.length);
    assert.equal(await f.add({ hostPort, guestPort: 1, owner: 'c2' }), false, 'first forward of a port wins');
    await f.removeOwner('c1');
    await assert.rejects(roundTrip(hostPort, 'gone'), /ECONNREFUSED/);
    assert.deepEqual(f.list(), []);
    assert.deepEqual(errors, []);
  });

  it('reports a port it cannot listen on, and a guest port that refuses', async () => {
    const errors: string[] = [];
    const f = new PortForwarder(localDial, (m) => errors.push(m));
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    assert.equal(await f.add({ hostPort: busyPort, guestPort: echoPort, owner: 'c' }), false);
    assert.match(errors[0], /cannot listen on 127\.0\.0\.1:\d+/);
    const hostPort = await freePort();
    const closedPort = await freePort();
    await f.add({ hostPort, guestPort: closedPort, owner: 'c' });
    await roundTrip(hostPort, 'x').catch(() => '');
    assert.match(errors[1], new RegExp(`cannot reach port ${closedPort} in the VM`));
    await f.closeAll();
    busy.close();
  });
});

describe('engine socket forwarder', () => {
  it('passes HTTP and a hijacked (101 Upgrade) stream through unchanged, and removes its socket on close', async () => {
    // A tiny engine: /_ping answers OK; /attach upgrades and then echoes raw bytes reversed.
    const engine = http.createServer((req, res) => res.end(req.url === '/_ping' ? 'OK' : 'no'));
    engine.on('upgrade', (_req, sock: net.Socket) => {
      sock.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      sock.on('data', (d) => sock.write(Buffer.from([...d].reverse())));
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', () => r()));
    const enginePort = (engine.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-sock-'));
    const sockPath = path.join(dir, 'run', 'docker.sock');
    const fwd = await forwardUnixSocket(sockPath, () => localDial(enginePort));
    assert.equal((await fsp.stat(sockPath)).mode & 0o777, 0o600);

    const ping = await new Promise<string>((resolve, reject) => {
      http
        .get({ socketPath: sockPath, path: '/_ping' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.equal(ping, 'OK');

    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        socketPath: sockPath,
        path: '/attach',
        method: 'POST',
        headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      req.on('upgrade', (res, sock) => {
        assert.equal(res.statusCode, 101);
        sock.once('data', (d: Buffer) => {
          resolve(d.toString());
          sock.destroy();
        });
        sock.write('stdin-bytes');
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(echoed, 'setyb-nidts');
    await fwd.close();
    assert.equal(existsSync(sockPath), false);
    engine.close();
    await fsp.rm(dir, { recursive: true });
  });
});

describe('container port watcher', () => {
  it('forwards published ports of running and starting containers, and stops when they stop', async () => {
    // A fake engine on a unix socket with the Engine API's shapes: list, inspect and an event stream.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ev-'));
    const sock = path.join(dir, 'engine.sock');
    const [p1, p2] = [await freePort(), await freePort()];
    let events: http.ServerResponse | undefined;
    const engine = http.createServer((req, res) => {
      if (req.url === '/containers/json')
        return res.end(
          JSON.stringify([
            { Id: 'aaa', Ports: [{ PrivatePort: 80, PublicPort: p1, Type: 'tcp', IP: '0.0.0.0' }] },
          ]),
        );
      if (req.url === '/containers/bbb/json')
        return res.end(
          JSON.stringify({
            Id: 'bbb',
            NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '', HostPort: String(p2) }] } },
          }),
        );
      if (req.url?.startsWith('/events')) {
        assert.match(decodeURIComponent(req.url), /"type":\["container"\]/);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('');
        events = res;
        return;
      }
      res.statusCode = 404;
      res.end('{"message":"no such container"}');
    });
    await new Promise<void>((r) => engine.listen(sock, () => r()));
    const f = new PortForwarder(localDial);
    const w = new ContainerPortWatcher(sock, new SshPortPublisher(f, () => {}));
    await w.start();
    assert.deepEqual(f.list(), [{ hostPort: p1, guestPort: p1, owner: 'aaa' }]);
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(cond());
    };
    await until(() => events !== undefined);
    events!.write(JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'bbb' } }) + '\n');
    await until(() => f.list().some((x) => x.owner === 'bbb' && x.hostPort === p2));
    events!.write(
      JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'aaa' } }) +
        '\n' +
        JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'bbb' } }) +
        '\n',
    );
    await until(() => !f.list().some((x) => x.owner === 'aaa'));
    assert.deepEqual(
      f.list().map((x) => x.owner),
      ['bbb'],
    );
    events!.write(JSON.stringify({ Type: 'container', Action: 'destroy', Actor: { ID: 'bbb' } }) + '\n');
    await until(() => f.list().length === 0);
    await w.stop();
    events!.end();
    engine.close();
    await fsp.rm(dir, { recursive: true });
  });
});

/**
 * Runtime port forwards through QEMU's user-mode network: the HMP lines, the `info usernet` parser, and the
 * real thing against a QEMU with no guest (`-M none`: starts in milliseconds, the forwards still listen).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../src/ports/free-port.js';
import { PortControlPublisher, type PortPublisher } from '../src/ports/publisher.js';
import { QmpPortControl } from '../src/vm/qemu/port-control.js';
import {
  hostfwdAdd,
  hostfwdAddLine,
  hostfwdList,
  hostfwdRemove,
  hostfwdRemoveLine,
  hostfwdRule,
  parseUsernetForwards,
  qmpMessages,
  type QmpAddress,
} from '../src/vm/qemu/qmp.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

describe('QMP hostfwd commands', () => {
  it('builds hostfwd_add/remove lines and QMP messages, rejecting values that would change the command', () => {
    const f = {
      proto: 'tcp' as const,
      hostAddr: '127.0.0.1',
      hostPort: 8080,
      guestAddr: '10.0.2.15',
      guestPort: 80,
    };
    assert.equal(hostfwdRule(f), 'tcp:127.0.0.1:8080-10.0.2.15:80');
    assert.equal(
      hostfwdAddLine('net0', { ...f, proto: 'udp' }),
      'hostfwd_add net0 udp:127.0.0.1:8080-10.0.2.15:80',
    );
    assert.equal(hostfwdRemoveLine('net0', f), 'hostfwd_remove net0 tcp:127.0.0.1:8080');
    assert.throws(() => hostfwdAddLine('net0 x', f), /netdev id/);
    assert.throws(() => hostfwdRule({ ...f, hostPort: 0 }), /invalid port/);
    assert.throws(() => hostfwdRule({ ...f, guestAddr: '10.0.2.15;quit' }), /IPv4/);
    assert.deepEqual(
      qmpMessages('human-monitor-command', { 'command-line': 'info usernet' }).map(
        (m) => JSON.parse(m) as unknown,
      ),
      [
        { execute: 'qmp_capabilities' },
        { execute: 'human-monitor-command', arguments: { 'command-line': 'info usernet' } },
      ],
    );
    assert.deepEqual(qmpMessages('quit').map((m) => JSON.parse(m) as unknown)[1], { execute: 'quit' });
  });

  it('parses the forwards out of `info usernet` (QEMU 7.2 layout), skipping live connections', () => {
    const text = [
      'Hub -1 (net0):',
      '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
      '  TCP[HOST_FORWARD]  13       127.0.0.1 45556       10.0.2.15    80     0     0',
      '  TCP[ESTABLISHED]   21       10.0.2.15 51234        10.0.2.2  5000     0     0',
      '  UDP[HOST_FORWARD]  14       127.0.0.1 45557       10.0.2.15    53     0     0',
    ].join('\r\n');
    assert.deepEqual(parseUsernetForwards(text), [
      { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 45556, guestAddr: '10.0.2.15', guestPort: 80 },
      { proto: 'udp', hostAddr: '127.0.0.1', hostPort: 45557, guestAddr: '10.0.2.15', guestPort: 53 },
    ]);
  });
});

const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status === 0;
if (!hasQemu && process.env.CI === 'true') throw new Error('required under CI: qemu-system-x86_64');

describe(
  'QMP hostfwd against a real QEMU',
  { skip: hasQemu ? false : 'qemu-system-x86_64 is not installed' },
  () => {
    let qemu: ChildProcess;
    let dir: string;
    let qmp: QmpAddress;
    let sshPort: number;
    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'berth-qmp-'));
      qmp = { kind: 'unix', path: path.join(dir, 'qmp.sock') };
      sshPort = await freePort();
      qemu = spawn(
        'qemu-system-x86_64',
        [
          '-M',
          'none',
          '-nodefaults',
          '-nographic',
          '-S',
          '-netdev',
          `user,id=net0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
          '-qmp',
          `unix:${qmp.path},server=on,wait=off`,
        ],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 200 && !existsSync(qmp.path); i++) await new Promise((r) => setTimeout(r, 10));
    });
    after(() => {
      qemu.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    it('adds tcp and udp forwards on the host loopback, lists them, removes them; a taken port is an error', async () => {
      const [p1, p2] = [await freePort(), await freePort()];
      await hostfwdAdd(qmp, 'net0', {
        proto: 'tcp',
        hostAddr: '127.0.0.1',
        hostPort: p1,
        guestAddr: '10.0.2.15',
        guestPort: 80,
      });
      await hostfwdAdd(qmp, 'net0', {
        proto: 'udp',
        hostAddr: '127.0.0.1',
        hostPort: p2,
        guestAddr: '10.0.2.15',
        guestPort: 53,
      });
      assert.equal(await listening(p1), true);
      const list = await hostfwdList(qmp);
      assert.ok(list.some((f) => f.proto === 'tcp' && f.hostPort === p1 && f.guestPort === 80));
      assert.ok(list.some((f) => f.proto === 'udp' && f.hostPort === p2 && f.guestPort === 53));
      assert.ok(
        list.some((f) => f.hostPort === sshPort),
        'command-line forwards are listed too',
      );
      await assert.rejects(
        hostfwdAdd(qmp, 'net0', {
          proto: 'tcp',
          hostAddr: '127.0.0.1',
          hostPort: p1,
          guestAddr: '10.0.2.15',
          guestPort: 81,
        }),
        /already in use on the host/,
      );
      await assert.rejects(
        hostfwdAdd(qmp, 'nope', {
          proto: 'tcp',
          hostAddr: '127.0.0.1',
          hostPort: p2,
          guestAddr: '10.0.2.15',
          guestPort: 81,
        }),
        /unrecognized netdev/,
      );
      assert.equal(
        await hostfwdRemove(qmp, 'net0', { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: p1 }),
        true,
      );
      assert.equal(
        await hostfwdRemove(qmp, 'net0', { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: p1 }),
        false,
      );
      assert.equal(
        await hostfwdRemove(qmp, 'net0', { proto: 'udp', hostAddr: '127.0.0.1', hostPort: p2 }),
        true,
      );
      assert.equal(await listening(p1), false);
    });

    it('the publisher: QMP forwards by owner, a warning for a taken host port, SSH for loopback-only ports and when QMP fails', async () => {
      const logs: string[] = [];
      const viaSsh: string[] = [];
      const fallback: PortPublisher = {
        add: async (owner, p) => (viaSsh.push(`${owner}:${p.port}/${p.proto}`), true),
        removeOwner: async (owner) =>
          void viaSsh.splice(0, viaSsh.length, ...viaSsh.filter((x) => !x.startsWith(`${owner}:`))),
        closeAll: async () => void viaSsh.splice(0),
      };
      const pub = new PortControlPublisher(
        new QmpPortControl({ qmp, netdev: 'net0', guestIp: '10.0.2.15' }),
        fallback,
        (m) => logs.push(m),
      );
      const [a, b, c] = [await freePort(), await freePort(), await freePort()];
      // A forward an earlier tunnel left behind goes; the SSH forward stays.
      await hostfwdAdd(qmp, 'net0', {
        proto: 'tcp',
        hostAddr: '127.0.0.1',
        hostPort: c,
        guestAddr: '10.0.2.15',
        guestPort: 1,
      });
      await pub.reconcile([sshPort]);
      assert.deepEqual(
        (await hostfwdList(qmp)).map((f) => f.hostPort),
        [sshPort],
      );

      assert.equal(await pub.add('c1', { proto: 'tcp', port: a, loopbackOnly: false }), true);
      assert.equal(await pub.add('c1', { proto: 'udp', port: a, loopbackOnly: false }), true);
      assert.equal(await pub.add('c2', { proto: 'tcp', port: b, loopbackOnly: true }), true);
      assert.deepEqual(viaSsh, [`c2:${b}/tcp`]);
      assert.equal(await listening(a), true);
      // Someone else holds port c on the host: a warning, no crash, nothing published.
      const other = net.createServer().listen(c, '127.0.0.1');
      await new Promise((r) => other.once('listening', r));
      assert.equal(await pub.add('c3', { proto: 'tcp', port: c, loopbackOnly: false }), false);
      other.close();
      assert.ok(
        logs.some((m) => m.includes(`cannot publish 127.0.0.1:${c}/tcp`) && m.includes('already in use')),
        logs.join('\n'),
      );

      await pub.removeOwner('c1');
      assert.equal(await listening(a), false);
      assert.deepEqual(
        (await hostfwdList(qmp)).map((f) => f.hostPort),
        [sshPort],
      );
      await pub.removeOwner('c2');
      assert.deepEqual(viaSsh, []);

      const noQmp = new PortControlPublisher(
        new QmpPortControl({
          qmp: { kind: 'unix', path: path.join(dir, 'missing.sock') },
          netdev: 'net0',
          guestIp: '10.0.2.15',
        }),
        fallback,
        (m) => logs.push(m),
      );
      assert.equal(await noQmp.add('c4', { proto: 'tcp', port: a, loopbackOnly: false }), true);
      assert.deepEqual(viaSsh, [`c4:${a}/tcp`]);
      assert.ok(logs.some((m) => /QMP port forward failed; using SSH/.test(m)));
    });
  },
);

/**
 * Engine API answers that must be dockerd's (issue 17), through the docker CLI or the raw API where no client
 * covers them. Each test cites what Debian's dockerd 20.10 (docker.io, run by hand on this machine) or moby's
 * code answers for the same request.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxImage, multiarchImage } from '../fixtures/images.js';
import { seedRegistry, TEST_AUTH } from '../fixtures/seed.js';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const json = <T = Record<string, unknown>>(s: string): T => JSON.parse(s) as T;

/** A hijacked exec start: writes `input` after the upgrade, returns the head and what came back. */
function execStart(
  socket: string,
  id: string,
  body: unknown,
  input: Buffer[] = [],
  endAfterMs = 10_000,
): Promise<{ head: string; data: Buffer; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const s = net.connect(socket);
    const chunks: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      s.destroy();
    }, endAfterMs);
    const send = async () => {
      s.write(
        `POST /v1.44/exec/${id}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`,
      );
      for (const b of input) {
        await new Promise((r) => setTimeout(r, 300));
        s.write(b);
      }
    };
    s.on('connect', () => void send());
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, at).toString(), data: all.subarray(at + 4), closedByServer });
    });
  });
}

describe('engine compatibility: API answers as dockerd gives them', () => {
  let d: TestDaemon;
  const dk = (args: string[], input?: string) =>
    d.docker(args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
  before(async () => {
    ({ d } = await startContainerDaemon());
  });
  after(async () => {
    await d.destroy();
  });

  it("swarm: 503 with dockerd's words on a node outside a swarm; init and join say Berth runs none", async () => {
    // dockerd 20.10 outside a swarm: GET /swarm, /services, /nodes, /tasks, /secrets, /configs and the
    // manager-only POSTs answer 503 "This node is not a swarm manager. Use \"docker swarm init\" or ...";
    // POST /swarm/leave answers 503 "This node is not part of a swarm".
    const notManager = /^This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/;
    for (const [m, p] of [
      ['GET', '/swarm'],
      ['GET', '/swarm/unlockkey'],
      ['POST', '/swarm/update?version=1'],
      ['GET', '/services'],
      ['GET', '/services/x'],
      ['POST', '/services/create'],
      ['DELETE', '/services/x'],
      ['GET', '/nodes'],
      ['POST', '/nodes/x/update?version=1'],
      ['GET', '/tasks'],
      ['GET', '/secrets'],
      ['POST', '/secrets/create'],
      ['GET', '/configs/x'],
    ] as const) {
      const r = await d.request(m, `/v1.44${p}`, m === 'POST' ? {} : undefined);
      assert.equal(r.status, 503, `${m} ${p}`);
      assert.match(json<{ message: string }>(r.body).message, notManager, `${m} ${p}`);
    }
    const leave = await d.request('POST', '/v1.44/swarm/leave?force=1');
    assert.deepEqual(
      [leave.status, json(leave.body)],
      [503, { message: 'This node is not part of a swarm' }],
    );
    for (const p of ['/swarm/init', '/swarm/join']) {
      const r = await d.request('POST', `/v1.44${p}`, { ListenAddr: '0.0.0.0:2377' });
      assert.equal(r.status, 503);
      assert.match(json<{ message: string }>(r.body).message, /Berth does not run swarm/);
    }
    const cli = await dk(['node', 'ls']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /This node is not a swarm manager/);
  });

  it('networks: any non-empty name, "test 01" included; predefined names are refused with 403', async () => {
    // dockerd 20.10: `docker network create "test 01"` works; "" → "invalid name"; "bridge", "host", "none"
    // → 403 "operation is not permitted on predefined bridge network " (runconfig.IsPreDefinedNetwork).
    assert.equal((await dk(['network', 'create', 'test 01'])).code, 0);
    try {
      const insp = json<{ Name: string }[]>((await dk(['network', 'inspect', 'test 01'])).stdout);
      assert.equal(insp[0].Name, 'test 01');
      const run = await dk([
        'run',
        '--rm',
        '--network',
        'test 01',
        'busybox',
        'ip',
        '-4',
        'addr',
        'show',
        'eth0',
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /inet \d+\.\d+\.\d+\.\d+/);
      for (const name of ['a/b', 'x:y', 'ü']) {
        const r = await d.request('POST', '/v1.44/networks/create', { Name: name });
        assert.equal(r.status, 201, `${name}: ${r.body}`);
        assert.equal((await d.request('DELETE', `/v1.44/networks/${encodeURIComponent(name)}`)).status, 204);
      }
      const empty = await d.request('POST', '/v1.44/networks/create', { Name: '' });
      assert.deepEqual([empty.status, json(empty.body)], [400, { message: 'invalid name: name is empty' }]);
      for (const name of ['bridge', 'host', 'none']) {
        const r = await d.request('POST', '/v1.44/networks/create', { Name: name });
        assert.deepEqual(
          [r.status, json(r.body)],
          [403, { message: `operation is not permitted on predefined ${name} network ` }],
        );
      }
    } finally {
      await dk(['network', 'rm', 'test 01']);
    }
  });

  it("exec: the pty comes from exec create, the framing from the start request; create's DetachKeys work", async () => {
    assert.equal((await dk(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300'])).code, 0);
    try {
      // dockerd 20.10 for exec create {Tty:true} started with {}: a pty (`tty` prints /dev/pts/0, lines end
      // "\r\n") and multiplexed frames, since only the start request's Tty makes the stream raw.
      const e1 = json<{ Id: string }>(
        (
          await d.request('POST', '/v1.44/containers/ex/exec', {
            Cmd: ['sh', '-c', 'echo hi; tty'],
            Tty: true,
            AttachStdout: true,
          })
        ).body,
      ).Id;
      const r1 = await execStart(d.socket, e1, {});
      assert.match(r1.head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
      let text = '';
      for (let i = 0; i < r1.data.length;) {
        assert.equal(r1.data[i], 1, 'stdout frames only');
        const n = r1.data.readUInt32BE(i + 4);
        text += r1.data.subarray(i + 8, i + 8 + n).toString();
        i += 8 + n;
      }
      assert.match(text, /^hi\r\n\/dev\/pts\/\d+\r\n$/);
      // Tty in the start request too: raw bytes.
      const e2 = json<{ Id: string }>(
        (
          await d.request('POST', '/v1.44/containers/ex/exec', {
            Cmd: ['echo', 'raw'],
            Tty: true,
            AttachStdout: true,
          })
        ).body,
      ).Id;
      const r2 = await execStart(d.socket, e2, { Tty: true });
      assert.match(r2.head, /application\/vnd\.docker\.raw-stream/);
      assert.equal(r2.data.toString(), 'raw\r\n');
      // DetachKeys given at exec create (ctrl-x): the client detaches, the process keeps running.
      const e3 = json<{ Id: string }>(
        (
          await d.request('POST', '/v1.44/containers/ex/exec', {
            Cmd: ['sh'],
            Tty: true,
            AttachStdin: true,
            AttachStdout: true,
            DetachKeys: 'ctrl-x',
          })
        ).body,
      ).Id;
      const r3 = await execStart(d.socket, e3, { Tty: true }, [
        Buffer.from('echo marker-$((6*7))\n'),
        Buffer.from([0x18]),
      ]);
      assert.ok(r3.closedByServer, 'the detach keys ended the stream');
      assert.match(r3.data.toString(), /marker-42/);
      const ins = json<{ Running: boolean }>((await d.request('GET', `/v1.44/exec/${e3}/json`)).body);
      assert.equal(ins.Running, true, 'detaching leaves the process running');
      // Without a terminal, input is not scanned for the detach keys (dockerd's CopyStreams): ctrl-p ctrl-q pass
      // through exec and attach (binary stdin, as kubectl cp's tar, reaches the process whole).
      const viaExec = await dk(['exec', '-i', 'ex', 'od', '-An', '-tx1'], 'a\x10\x11b');
      assert.equal(viaExec.stdout.trim(), '61 10 11 62', viaExec.stderr);
      const viaAttach = await dk(['run', '-i', '--rm', 'busybox', 'od', '-An', '-tx1'], 'a\x10\x11b');
      assert.equal(viaAttach.stdout.trim(), '61 10 11 62', viaAttach.stderr);
    } finally {
      await dk(['rm', '-f', 'ex']);
    }
  });

  it('docker cp reaches volumes and bind mounts of a container that is not running', async () => {
    // dockerd mounts a stopped container's volumes for the copy (daemon/archive.go: container.MountVolumes).
    const host = path.join(d.dataRoot + '-run', 'cp-bind');
    await fsp.mkdir(host, { recursive: true });
    await fsp.writeFile(path.join(host, 'from-host.txt'), 'bound\n');
    const run = await dk([
      'run',
      '--name',
      'cpv',
      '-v',
      'cpvol:/data',
      '-v',
      `${host}:/bound:ro`,
      'busybox',
      'sh',
      '-c',
      'echo in-volume > /data/v.txt',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = path.join(d.dataRoot + '-run', 'cp-out');
    try {
      assert.equal((await dk(['cp', 'cpv:/data/v.txt', `${out}-v.txt`])).code, 0);
      assert.equal(await fsp.readFile(`${out}-v.txt`, 'utf8'), 'in-volume\n');
      assert.equal((await dk(['cp', 'cpv:/bound/from-host.txt', `${out}-b.txt`])).code, 0);
      assert.equal(await fsp.readFile(`${out}-b.txt`, 'utf8'), 'bound\n');
      await fsp.writeFile(`${out}-in.txt`, 'copied in\n');
      const cpIn = await dk(['cp', `${out}-in.txt`, 'cpv:/data/in.txt']);
      assert.equal(cpIn.code, 0, cpIn.stderr);
      const check = await dk(['run', '--rm', '-v', 'cpvol:/data', 'busybox', 'cat', '/data/in.txt']);
      assert.equal(check.stdout, 'copied in\n', 'the copy landed in the volume, not in the container layer');
      const ro = await dk(['cp', `${out}-in.txt`, 'cpv:/bound/x.txt']);
      assert.notEqual(ro.code, 0, 'a read-only bind stays read-only');
      assert.deepEqual(await fsp.readdir(host), ['from-host.txt']);
    } finally {
      await dk(['rm', '-f', 'cpv']);
      await dk(['volume', 'rm', 'cpvol']);
    }
  });

  it('create: Env without "=" kept in Config.Env; --log-driver none keeps no log', async () => {
    // dockerd 20.10: Env ["FOO","BAR=1"] on busybox → Config.Env ["FOO","BAR=1","PATH=..."]; the process has
    // no FOO. With LogConfig.Type none: LogPath "", and GET /logs answers 501 "configured logging driver does
    // not support reading".
    const c = await d.request('POST', '/v1.44/containers/create?name=envk', {
      Image: 'busybox',
      Cmd: ['sh', '-c', 'env; echo to-nowhere'],
      Env: ['FOO', 'BAR=1'],
      HostConfig: { LogConfig: { Type: 'none' } },
    });
    assert.equal(c.status, 201, c.body);
    try {
      const ins = json<{ Config: { Env: string[] }; LogPath: string; HostConfig: { LogConfig: unknown } }>(
        (await d.request('GET', '/v1.44/containers/envk/json')).body,
      );
      assert.deepEqual(ins.Config.Env.slice(0, 2), ['FOO', 'BAR=1']);
      assert.ok(ins.Config.Env[2]?.startsWith('PATH='));
      assert.equal(ins.LogPath, '');
      assert.deepEqual(ins.HostConfig.LogConfig, { Type: 'none', Config: {} });
      assert.equal((await d.request('POST', '/v1.44/containers/envk/start')).status, 204);
      await d.request('POST', '/v1.44/containers/envk/wait');
      const logs = await d.request('GET', '/v1.44/containers/envk/logs?stdout=1');
      assert.deepEqual(
        [logs.status, json(logs.body)],
        [501, { message: 'configured logging driver does not support reading' }],
      );
      const cli = await dk(['logs', 'envk']);
      assert.notEqual(cli.code, 0);
      assert.match(cli.stderr, /configured logging driver does not support reading/);
      assert.deepEqual(
        await fsp
          .readdir(path.join(d.dataRoot, 'containers', json<{ Id: string }>(c.body).Id))
          .then((f) => f.filter((x) => x.endsWith('.log'))),
        [],
      );
    } finally {
      await dk(['rm', '-f', 'envk']);
    }
  });

  it('legacy links: ALIAS_* variables, /etc/hosts, inspect shows /child:/parent/alias, rm --link', async () => {
    // dockerd 20.10 for `--link child:db-1` to a child with -e FOO=bar --expose 80 --expose 81 --expose 53/udp:
    // DB_1_PORT=udp://IP:53 (lowest port first), DB_1_PORT_80_TCP=tcp://IP:80 (+_ADDR/_PORT/_PROTO),
    // DB_1_NAME=/parent/db-1, DB_1_ENV_FOO=bar (no HOME/PATH); /etc/hosts "IP db-1 <id> child";
    // HostConfig.Links ["/child:/parent/db-1"]; `docker rm --link parent/db-1` → null.
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'child',
          '-e',
          'FOO=bar',
          '--expose',
          '80',
          '--expose',
          '81',
          '--expose',
          '53/udp',
          'busybox',
          'sleep',
          '300',
        ])
      ).code,
      0,
    );
    try {
      const ip = (await dk(['inspect', 'child', '--format', '{{.NetworkSettings.IPAddress}}'])).stdout.trim();
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      const p = await dk([
        'run',
        '-d',
        '--name',
        'parent',
        '--link',
        'child:db-1',
        'busybox',
        'sleep',
        '300',
      ]);
      assert.equal(p.code, 0, p.stderr);
      const env = (await dk(['exec', 'parent', 'env'])).stdout
        .split('\n')
        .filter((l) => l.startsWith('DB_1_'));
      assert.deepEqual(env, [
        `DB_1_PORT=udp://${ip}:53`,
        `DB_1_PORT_53_UDP=udp://${ip}:53`,
        `DB_1_PORT_53_UDP_ADDR=${ip}`,
        'DB_1_PORT_53_UDP_PORT=53',
        'DB_1_PORT_53_UDP_PROTO=udp',
        `DB_1_PORT_80_TCP=tcp://${ip}:80`,
        `DB_1_PORT_80_TCP_ADDR=${ip}`,
        'DB_1_PORT_80_TCP_PORT=80',
        'DB_1_PORT_80_TCP_PROTO=tcp',
        `DB_1_PORT_81_TCP=tcp://${ip}:81`,
        `DB_1_PORT_81_TCP_ADDR=${ip}`,
        'DB_1_PORT_81_TCP_PORT=81',
        'DB_1_PORT_81_TCP_PROTO=tcp',
        'DB_1_NAME=/parent/db-1',
        'DB_1_ENV_FOO=bar',
      ]);
      assert.match(
        (await dk(['exec', 'parent', 'cat', '/etc/hosts'])).stdout,
        new RegExp(`^${ip.replaceAll('.', '\\.')}\\s+db-1 `, 'm'),
      );
      assert.equal(
        (await dk(['inspect', 'parent', '--format', '{{json .HostConfig.Links}}'])).stdout.trim(),
        '["/child:/parent/db-1"]',
      );
      const rm = await dk(['rm', '--link', 'parent/db-1']);
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal(
        (await dk(['inspect', 'parent', '--format', '{{json .HostConfig.Links}}'])).stdout.trim(),
        'null',
      );
      assert.equal((await dk(['inspect', 'child', '--format', '{{.State.Running}}'])).stdout.trim(), 'true');
      const dflt = await d.request('DELETE', '/v1.44/containers/parent?link=1');
      assert.deepEqual(
        [dflt.status, json(dflt.body)],
        [500, { message: 'Conflict, cannot remove the default link name of the container' }],
      );
      const ghost = await d.request('POST', '/v1.44/containers/create', {
        Image: 'busybox',
        HostConfig: { Links: ['ghost:g'] },
      });
      assert.deepEqual(
        [ghost.status, json(ghost.body)],
        [400, { message: 'could not get container for ghost: No such container: ghost' }],
      );
    } finally {
      await dk(['rm', '-f', 'parent', 'child']);
    }
  });

  it('docker ps --filter name=^k1$ matches the name without its slash', async () => {
    // dockerd matches the name filter against "/k1" and "k1" (daemon/list.go).
    assert.equal((await dk(['create', '--name', 'k1', 'busybox'])).code, 0);
    assert.equal((await dk(['create', '--name', 'k10', 'busybox'])).code, 0);
    try {
      const r = await dk(['ps', '-a', '--filter', 'name=^k1$', '--format', '{{.Names}}']);
      assert.equal(r.stdout.trim(), 'k1');
      assert.equal(
        (await dk(['ps', '-a', '--filter', 'name=^/k1$', '--format', '{{.Names}}'])).stdout.trim(),
        'k1',
      );
    } finally {
      await dk(['rm', '-f', 'k1', 'k10']);
    }
  });

  it('docker events --filter container=X lets no daemon, image or network events through', async () => {
    // dockerd's events filter applies the container filter to every event (Filter.Include → matchContainer):
    // a network connect (Actor: the network) or an image tag does not name the container, so it is dropped.
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await dk(['run', '--name', 'evx', 'busybox', 'true'])).code, 0);
    // Names that do not start with "evx": dockerd's container filter also matches an actor name by prefix.
    assert.equal((await dk(['tag', 'busybox', 'other-tag:1'])).code, 0);
    assert.equal((await dk(['network', 'create', 'other-net'])).code, 0);
    await dk(['network', 'rm', 'other-net']);
    const until = Math.floor(Date.now() / 1000) + 1;
    await new Promise((r) => setTimeout(r, 1100));
    const all = await dk([
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--format',
      '{{.Type}} {{.Action}}',
    ]);
    assert.match(all.stdout, /^network /m, 'unfiltered, the network events are there');
    const f = await dk([
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      'container=evx',
      '--format',
      '{{.Type}} {{.Action}}',
    ]);
    const types = new Set(
      f.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    );
    assert.deepEqual([...types], ['container'], f.stdout);
    assert.match(f.stdout, /container start/);
    await dk(['rm', 'evx']);
    await dk(['rmi', 'other-tag:1']);
  });

  it('POST /images/load of garbage: 200 with the error in the stream', async () => {
    // dockerd 20.10: 200, Content-Type application/json, body {"errorDetail":{"message":"Error processing tar
    // file(exit status 1): archive/tar: invalid tar header"},"error":"..."}; `docker load` prints it, exits 1.
    const r = await d.request('POST', '/v1.44/images/load', Buffer.alloc(3000, 'garbage '), {
      'Content-Type': 'application/x-tar',
    });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const msg = json<{ errorDetail: { message: string }; error: string }>(r.body.trim().split('\n').at(-1)!);
    assert.match(msg.errorDetail.message, /invalid archive: not a valid tar file/);
    assert.equal(msg.error, msg.errorDetail.message);
  });

  it('GET /distribution/{name}/json: the descriptor and platforms from the registry, with auth', async () => {
    // dockerd 20.10 against the same fixture registry: busybox:latest (schema2) → Descriptor {mediaType, digest,
    // size 527}, Platforms [{architecture:"amd64",os:"linux"}]; an OCI index → one platform per entry (the
    // attestation's "unknown/unknown" too); an OCI image manifest → Platforms null; a missing tag → 404
    // "manifest unknown: manifest unknown"; an uppercase name → 400.
    const reg = await seedRegistry();
    const bb = busyboxImage('docker');
    const ok = await d.request('GET', `/v1.44/distribution/${reg.ref('busybox:latest')}/json`);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(json(ok.body), {
      Descriptor: {
        mediaType: bb.kind === 'manifest' ? bb.mediaType : '',
        digest: bb.digest,
        size: bb.bytes.length,
      },
      Platforms: [{ architecture: 'amd64', os: 'linux' }],
    });
    const ma = multiarchImage('oci');
    const idx = json<{ Descriptor: { digest: string; mediaType: string }; Platforms: unknown[] }>(
      (await d.request('GET', `/v1.44/distribution/${reg.ref('multiarch:latest')}/json`)).body,
    );
    assert.equal(idx.Descriptor.digest, ma.digest);
    assert.equal(idx.Descriptor.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      idx.Platforms,
      (ma.kind === 'index' ? ma.manifests : []).map((m) => ({
        architecture: m.platform?.architecture ?? '',
        os: m.platform?.os ?? '',
        ...(m.platform?.variant ? { variant: m.platform.variant } : {}),
      })),
    );
    const oci = json<{ Platforms: unknown }>(
      (await d.request('GET', `/v1.44/distribution/${reg.ref('busybox:oci')}/json`)).body,
    );
    assert.equal(oci.Platforms, null);
    const nope = await d.request('GET', `/v1.44/distribution/${reg.ref('busybox:nope')}/json`);
    assert.deepEqual(
      [nope.status, json(nope.body)],
      [404, { message: 'manifest unknown: manifest unknown' }],
    );
    assert.equal((await d.request('GET', '/v1.44/distribution/UPPER/json')).status, 400);
    // A registry behind htpasswd: 401 without credentials, the answer with X-Registry-Auth.
    const authReg = await seedRegistry({ auth: TEST_AUTH });
    const d2 = await startTestDaemon({ args: ['--insecure-registry', authReg.host] });
    try {
      const url = `/v1.44/distribution/${authReg.ref('busybox:latest')}/json`;
      assert.equal((await d2.request('GET', url)).status, 401);
      const auth = Buffer.from(JSON.stringify({ ...TEST_AUTH, serveraddress: authReg.host })).toString(
        'base64url',
      );
      const r = await d2.request('GET', url, undefined, { 'X-Registry-Auth': auth });
      assert.equal(r.status, 200, r.body);
      assert.equal(json<{ Descriptor: { digest: string } }>(r.body).Descriptor.digest, bb.digest);
    } finally {
      await d2.destroy();
    }
  });

  it('a client that sends its headers a byte at a time is cut off after --header-timeout', async () => {
    // dockerd's http.Server has ReadHeaderTimeout (5 minutes, gosec G112); berthd's default is the same, a
    // daemon started with --header-timeout 1 shows it quickly. Node answers 408 and closes.
    const d2 = await startTestDaemon({ args: ['--header-timeout', '1'] });
    try {
      const t0 = Date.now();
      const got = await new Promise<string>((resolve, reject) => {
        const s = net.connect(d2.socket, () => s.write('GET /v1.44/version HTTP/1.1\r\n'));
        let b = '';
        const drip = setInterval(() => s.writable && s.write('X'), 200);
        s.on('data', (x: Buffer) => (b += x.toString()));
        s.on('close', () => {
          clearInterval(drip);
          resolve(b);
        });
        // A drip that lands just after berthd closed fails with EPIPE, and Node then drops what was still unread
        // (the 408): that too is the server cutting the client off.
        s.on('error', (e: NodeJS.ErrnoException) =>
          e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve(b || 'EPIPE') : reject(e),
        );
        setTimeout(() => s.destroy(), 15_000);
      });
      const took = Date.now() - t0;
      assert.ok(took < 5000, `closed after ${took} ms`);
      assert.match(got, /^(HTTP\/1.1 408|EPIPE$)/);
      // A normal request on a fresh connection still works.
      assert.equal((await d2.request('GET', '/_ping')).status, 200);
    } finally {
      await d2.destroy();
    }
  });

  it('healthcheck durations given as null or 0 mean the defaults; HostPort "0" publishes an ephemeral port', async () => {
    // dockerd 20.10 for Healthcheck {Interval:null,Timeout:0,StartPeriod:null,Retries:null} stores {Test}
    // only; PortBindings {"80/tcp":[{"HostPort":"0"}]} → NetworkSettings.Ports 80/tcp HostPort "32768".
    const c = await d.request('POST', '/v1.44/containers/create?name=hc0', {
      Image: 'busybox',
      Cmd: ['sleep', '300'],
      ExposedPorts: { '80/tcp': {} },
      Healthcheck: { Test: ['CMD', 'true'], Interval: null, Timeout: 0, StartPeriod: null, Retries: null },
      HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '0' }] } },
    });
    assert.equal(c.status, 201, c.body);
    try {
      assert.equal((await d.request('POST', '/v1.44/containers/hc0/start')).status, 204);
      const ins = json<{
        Config: { Healthcheck: unknown };
        NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[]> };
      }>((await d.request('GET', '/v1.44/containers/hc0/json')).body);
      assert.deepEqual(ins.Config.Healthcheck, { Test: ['CMD', 'true'] });
      const v4 = ins.NetworkSettings.Ports['80/tcp'].find((b) => b.HostIp === '0.0.0.0');
      assert.ok(v4 && Number(v4.HostPort) > 0, JSON.stringify(ins.NetworkSettings.Ports));
    } finally {
      await dk(['rm', '-f', 'hc0']);
    }
  });
});

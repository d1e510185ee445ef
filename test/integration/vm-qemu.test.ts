/**
 * The real VM, end to end, under whatever acceleration this host has (TCG here): build the guest image
 * (cached), `berth start`, the docker CLI through the forwarded socket, the engine port refusing connections
 * without the token, a shared folder, an explicit port forward, a container's published port (a QEMU
 * forward, gone at stop; a taken host port only warns), kill -9 of QEMU then start again with the data disk
 * intact, a keep-alive soak with attach and logs -f through the tunnel, the dashboard e2e suites (dashboard,
 * first-hour) in chromium against the guest's engine (~2.5 min under TCG), and a stop that leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, berthHome, type BerthHome } from '../helpers/berth-cli.js';
import { requirement } from '../helpers/env.js';
import { run, testProgress } from '../helpers/exec.js';
import { REPO } from '../helpers/paths.js';
import { seedRegistry, type SeededRegistry } from '../fixtures/seed.js';
import { freePort } from '../helpers/ports.js';
import { keepAliveSoak } from '../helpers/soak.js';
import { KUBECTL, until } from '../helpers/kube-cluster.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const skip = requirement(
  process.arch === 'x64' && ['qemu-system-x86_64', 'qemu-img', 'mksquashfs', 'dpkg-deb'].every(has),
  'qemu-system-x86_64, qemu-img, mksquashfs and dpkg-deb (x86-64 host) are needed to boot the Berth VM',
);

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}

/** What a TCP server on the host's 127.0.0.1:port sends before closing ('' when refused). */
function readTcp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('close', () => resolve(got));
    c.on('error', () => resolve(got));
    c.setTimeout(5000, () => c.destroy());
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Two ports of [from, to) free on the host now, picked at random (other runs use the range too). */
async function twoFreePorts(from: number, to: number): Promise<[number, number]> {
  const out: number[] = [];
  for (let i = 0; i < 200 && out.length < 2; i++) {
    const p = from + Math.floor(Math.random() * (to - from));
    if (!out.includes(p) && (await portIsFree(p))) out.push(p);
  }
  if (out.length < 2) throw new Error(`no two free ports in ${from}-${to - 1}`);
  return [out[0], out[1]];
}

interface Status {
  state: string;
  pid?: number;
  tunnelPid?: number;
  accel?: string;
  warning?: string;
}

describe('berth CLI, qemu driver (boots the guest image)', { skip }, () => {
  let h: BerthHome;
  let share: string;
  let hostPort: number;
  let registry: SeededRegistry;
  /** The seeded registry as the guest reaches it: the host's loopback is 10.0.2.2 on QEMU's user network. */
  const guestRef = (repoTag: string) => `10.0.2.2:${registry.host.split(':')[1]}/${repoTag}`;
  const status = async () => JSON.parse((await h.berth(['status', '--json'])).stdout) as Status;
  const shell = (cmd: string) => h.berth(['shell', '--', cmd], 60_000);

  before(async () => {
    const b = await run(process.execPath, [path.join(REPO, 'vm-image/build.mjs')], { timeoutMs: 600_000 });
    assert.equal(b.code, 0, `image build failed: ${b.stderr}`);
    console.log(`# ${b.stderr.trim().split('\n').at(-1)}`);
    h = berthHome();
    share = mkdtempSync(path.join(os.homedir(), '.berth-share-test-'));
    await fsp.writeFile(path.join(share, 'host.txt'), 'written on the host\n');
    hostPort = await freePort();
    await h.writeConfig('vm-config.json', {
      driver: 'qemu',
      shareFolders: [share],
      forwards: [{ hostPort, guestPort: 18080 }],
    });
    registry = await seedRegistry();
    const guestRegistry = `10.0.2.2:${registry.host.split(':')[1]}`;
    await h.writeConfig('settings.json', {
      version: 3,
      vm: { cpus: 2, memoryMiB: 1024, diskGiB: 8 },
      insecureRegistries: [guestRegistry],
    });
  });

  after(async () => {
    if (!h) return;
    const s = await status().catch(() => undefined);
    await h.berth(['stop', '-t', '5']);
    // Never leave a VM behind, whatever failed above.
    for (const pid of [s?.pid, s?.tunnelPid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await h.remove();
    await fsp.rm(share, { recursive: true, force: true });
  });

  it('start boots the VM; docker version and info answer through the host socket and the berth context', async () => {
    const t0 = Date.now();
    const r = await h.berth(['start']);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    console.log(
      `# berth start (cold, first boot formats the disk): ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    assert.match(r.stderr, /Booting the VM \((KVM|TCG)/);
    const s = await status();
    assert.equal(s.state, 'running');
    if (s.accel === 'tcg') assert.match(s.warning ?? '', /not available: .*using TCG/);
    const v = await h.docker([
      '-H',
      `unix://${h.socket}`,
      'version',
      '--format',
      '{{.Server.APIVersion}} {{.Server.Os}}',
    ]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.44 linux');
    const info = await h.docker(['--context', 'berth', 'info', '--format', '{{.Name}} {{.DockerRootDir}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.stdout.trim(), 'berth /var/lib/berth');
  });

  it('the engine port QEMU publishes on the host answers only connections that send the token first', async () => {
    const { enginePort } = JSON.parse(await fsp.readFile(path.join(h.home, 'vm/state.json'), 'utf8')) as {
      enginePort: number;
    };
    const token = (await fsp.readFile(path.join(h.home, 'keys/engine-token'), 'utf8')).trim();
    const talk = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(enginePort, '127.0.0.1', () => s.write(payload));
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.on('close', () => resolve(got));
        s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
        setTimeout(() => s.destroy(), 15_000);
      });
    const ping = 'GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n';
    assert.equal(await talk(ping + ping), '', 'plain HTTP is closed unanswered');
    assert.equal(await talk(`${'0'.repeat(64)}\n${ping}`), '', 'a wrong token is closed unanswered');
    // The token is acknowledged before any HTTP (the host tunnel waits for that before handing it a client).
    assert.match(await talk(`${token}\n${ping}`), /^ok\nHTTP\/1\.1 200 OK[\s\S]*\r\n\r\nOK$/);
    // The socket on the host stays private to its owner.
    assert.equal((await fsp.stat(h.socket)).mode & 0o777, 0o600);
  });

  it("pulls from the tests' registry on the host through the VM's user-mode network", async () => {
    const p = await h.docker(['--context', 'berth', 'pull', guestRef('busybox:latest')], 180_000);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /Status: Downloaded newer image/);
    const ls = await h.docker(['--context', 'berth', 'images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(ls.stdout.split('\n').includes(guestRef('busybox:latest')), ls.stdout);
  });

  it('the host folder is shared at the same path, both ways', async () => {
    const r = await shell(`cat ${share}/host.txt && echo written in the VM > ${share}/from-guest.txt`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'written on the host\n');
    assert.equal(await fsp.readFile(path.join(share, 'from-guest.txt'), 'utf8'), 'written in the VM\n');
  });

  it('runs busybox with a bind mount of a host folder under $HOME, read and written from the container', async () => {
    const r = await h.docker(
      [
        '--context',
        'berth',
        'run',
        '--rm',
        '-v',
        `${share}:/data`,
        guestRef('busybox:latest'),
        'sh',
        '-c',
        'cat /data/host.txt && echo from the container > /data/from-container.txt',
      ],
      180_000,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'written on the host\n');
    assert.equal(await fsp.readFile(path.join(share, 'from-container.txt'), 'utf8'), 'from the container\n');
  });

  it('edits cross the share at once both ways while a container runs (the guest caches nothing stale)', async () => {
    const file = path.join(share, 'edited.txt');
    await fsp.writeFile(file, 'v1\n');
    await fsp.writeFile(path.join(share, 'doomed.txt'), 'x\n');
    const r = await h.docker(
      [
        '--context',
        'berth',
        'run',
        '-d',
        '--name',
        'coherent',
        '-v',
        `${share}:/data`,
        guestRef('busybox:latest'),
        'sleep',
        '600',
      ],
      120_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const exec = async (cmd: string) => {
      const e = await h.docker(['--context', 'berth', 'exec', 'coherent', 'sh', '-c', cmd]);
      assert.equal(e.code, 0, `${cmd}: ${e.stderr}`);
      return e.stdout;
    };
    try {
      // Read first, so a caching mount would hold the old size and bytes when the host edits the file.
      assert.equal(await exec('cat /data/edited.txt && ls /data/doomed.txt'), 'v1\n/data/doomed.txt\n');
      await fsp.writeFile(file, 'version two, longer\n');
      await fsp.rm(path.join(share, 'doomed.txt'));
      await fsp.writeFile(path.join(share, 'new.txt'), 'new on the host\n');
      assert.equal(
        await exec('cat /data/edited.txt /data/new.txt; test -e /data/doomed.txt || echo gone'),
        'version two, longer\nnew on the host\ngone\n',
      );
      await exec('echo edited in the container >> /data/edited.txt');
      assert.equal(await fsp.readFile(file, 'utf8'), 'version two, longer\nedited in the container\n');
    } finally {
      await h.docker(['--context', 'berth', 'rm', '-f', 'coherent'], 60_000);
    }
  });

  it('a port inside the VM answers on the host 127.0.0.1 through the forward', async () => {
    const r = await shell(
      'mkdir -p /tmp/www && echo forwarded-ok > /tmp/www/index.html && httpd -p 127.0.0.1:18080 -h /tmp/www',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await get(hostPort), 'forwarded-ok\n');
  });

  it("a container's published port appears on the host's 127.0.0.1 while it runs, and goes when it stops", async () => {
    const port = await freePort();
    const r = await h.docker(
      [
        '--context',
        'berth',
        'run',
        '-d',
        '--name',
        'web',
        '-p',
        `${port}:80`,
        guestRef('busybox:latest'),
        'sh',
        '-c',
        'echo published-ok > /tmp/index.html && exec httpd -f -p 80 -h /tmp',
      ],
      120_000,
    );
    assert.equal(r.code, 0, r.stderr);
    let body = '';
    for (let i = 0; i < 150 && body !== 'published-ok\n'; i++) {
      body = await get(port).catch(() => '');
      if (body !== 'published-ok\n') await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(body, 'published-ok\n', 'the published port answers on the host');
    // QEMU itself listens (a user-net forward added over QMP), not the SSH tunnel process.
    const ss = await run('ss', ['-Hltnp', `sport = :${port}`]);
    assert.match(ss.stdout, /qemu-system/, ss.stdout);
    const st = await h.docker(['--context', 'berth', 'stop', '-t', '1', 'web'], 60_000);
    assert.equal(st.code, 0, st.stderr);
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = await get(port).then(
        () => false,
        (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
      );
      if (!gone) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(gone, 'the host listener closed when the container stopped');
    await h.docker(['--context', 'berth', 'rm', 'web']);
    // A host port someone else holds: the container runs, the ports log says why the port is not there.
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((res) => taken.once('listening', res));
    const tport = (taken.address() as net.AddressInfo).port;
    try {
      const t = await h.docker(
        [
          '--context',
          'berth',
          'run',
          '-d',
          '--name',
          'web2',
          '-p',
          `${tport}:80`,
          guestRef('busybox:latest'),
          'sleep',
          '60',
        ],
        120_000,
      );
      assert.equal(t.code, 0, t.stderr);
      let log = '';
      for (let i = 0; i < 100 && !log.includes(`cannot publish 127.0.0.1:${tport}/tcp`); i++) {
        log = await fsp.readFile(path.join(h.home, 'logs/ports.log'), 'utf8');
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.match(
        log,
        new RegExp(
          `warning: cannot publish 127\\.0\\.0\\.1:${tport}/tcp on the host: the port is already in use`,
        ),
      );
    } finally {
      taken.close();
      await h.docker(['--context', 'berth', 'rm', '-f', 'web2']);
    }
  });

  it('IPv6 in the guest: an EnableIPv6 network carries containers, and -p [::1] answers on the host ::1', async () => {
    // As on the bridge of a Linux host (ipv6.test.ts): the guest kernel has IPv6, berthd gives the containers
    // addresses of the network's IPv6 subnet, and a port published on the guest's ::1 (dockerd binds only
    // [::1] then) reaches the host's ::1 through the tunnel.
    const dkv = (args: string[]) => h.docker(['--context', 'berth', ...args], 120_000);
    const net6 = await dkv(['network', 'create', '--ipv6', '--subnet', 'fd00:b7:6::/64', 'v6']);
    assert.equal(net6.code, 0, net6.stderr);
    const port = await freePort();
    try {
      const a = await dkv([
        'run',
        '-d',
        '--name',
        'v6a',
        '--network',
        'v6',
        '--ip6',
        'fd00:b7:6::a',
        '-p',
        `[::1]:${port}:80`,
        guestRef('busybox:latest'),
        'sh',
        '-c',
        'echo v6-in-vm > /tmp/index.html && exec httpd -f -p 80 -h /tmp',
      ]);
      assert.equal(a.code, 0, a.stderr);
      const b = await dkv([
        'run',
        '--rm',
        '--network',
        'v6',
        guestRef('busybox:latest'),
        'wget',
        '-qO-',
        'http://[fd00:b7:6::a]/',
      ]);
      assert.equal(b.stdout, 'v6-in-vm\n', b.stderr);
      const ports = (await dkv(['port', 'v6a', '80'])).stdout.trim();
      assert.equal(ports, `[::1]:${port}`);
      let body = '';
      for (let i = 0; i < 150 && body !== 'v6-in-vm\n'; i++) {
        body = await new Promise<string>((resolve) => {
          http
            .get({ host: '::1', port, path: '/' }, (res) => {
              let t = '';
              res.on('data', (d) => (t += d));
              res.on('end', () => resolve(t));
            })
            .on('error', () => resolve(''));
        });
        if (body !== 'v6-in-vm\n') await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(body, 'v6-in-vm\n', "the guest's [::1] port answers on the host's ::1");
    } finally {
      await dkv(['rm', '-f', 'v6a']);
      await dkv(['network', 'rm', 'v6']);
    }
  });

  it('negative --oom-score-adj is exact in the guest (berthd is root there), for the init and for execs', async () => {
    // What the kubelet asks for its sandboxes (-998) and guaranteed pods (-997), as dockerd gives it with
    // runc; only a host that withholds CAP_SYS_RESOURCE (as this CI machine) raises it (containers-config test).
    const dkv = (args: string[]) => h.docker(['--context', 'berth', ...args], 120_000);
    const r = await dkv([
      'run',
      '-d',
      '--name',
      'oom',
      '--oom-score-adj',
      '-998',
      guestRef('busybox:latest'),
      'sleep',
      '60',
    ]);
    assert.equal(r.code, 0, r.stderr);
    try {
      const e = await dkv(['exec', 'oom', 'cat', '/proc/1/oom_score_adj', '/proc/self/oom_score_adj']);
      assert.equal(e.stdout, '-998\n-998\n', e.stderr);
    } finally {
      await dkv(['rm', '-f', 'oom']);
    }
  });

  it('the tunnel carries a keep-alive soak (32 clients x 500 requests) beside attach and logs -f, 0 failures', async () => {
    const dkv = (args: string[]) => h.docker(['--context', 'berth', ...args], 120_000);
    const script = 'i=0; while :; do echo line-$i; i=$((i+1)); sleep 0.05; done';
    const r = await dkv(['run', '-d', '--name', 'chatty', guestRef('busybox:latest'), 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    try {
      const soak = await keepAliveSoak(h.socket, { clients: 32, requests: 500, container: 'chatty' });
      console.log(
        `# soak through the VM tunnel: ${soak.requests} requests in ${(soak.ms / 1000).toFixed(1)} s, ${soak.failures.length} failed; ${soak.streams.map((s) => `${s.name} ${s.lines} lines`).join(', ')}`,
      );
      assert.deepEqual(soak.failures.slice(0, 5), [], `${soak.failures.length} requests failed`);
      for (const st of soak.streams) {
        assert.equal(st.error, undefined, `${st.name} broke`);
        assert.deepEqual(st.gaps, [], `${st.name} lost lines`);
        assert.ok(st.lines > 10, `${st.name} carried ${st.lines} lines`);
      }
    } finally {
      await dkv(['rm', '-f', 'chatty']);
    }
  });

  it('the dashboard e2e suites pass against the VM (chromium, berth serve, the engine in the guest)', async (t) => {
    if (!existsSync('/usr/bin/chromium') || !existsSync('/usr/bin/chromedriver')) {
      assert.ok(!process.env.CI, 'chromium and chromium-driver are needed under CI');
      return t.skip('chromium and chromium-driver (apt) are needed');
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BERTH_E2E_SOCKET: h.socket,
      BERTH_E2E_BUSYBOX: guestRef('busybox:latest'),
    };
    // A nested test runner inside a test process reports to it, not to stdout, unless it is told it runs alone.
    delete env.NODE_TEST_CONTEXT;
    const r = await run(
      process.execPath,
      [path.join(REPO, 'scripts/run-tests.mjs'), 'test/dist/e2e/dashboard', 'test/dist/e2e/first-hour'],
      {
        env,
        timeoutMs: 600_000,
        // Progress in the CI log as it happens: a stalled nested run is then visible where it stalled.
        onStdout: testProgress('vm dashboard'),
      },
    );
    const summary = r.stdout.trim().split('\n').at(-1) ?? '';
    console.log(`# dashboard suites against the VM: ${summary} (screenshots in test-output/screenshots-vm)`);
    assert.equal(r.code, 0, r.stdout.slice(-6000));
    assert.match(summary, /^\d+ passed, 0 failed, 0 skipped$/);
  });

  it('berth kube in the VM: enable → node Ready, a LoadBalancer answers on the host 127.0.0.1, disable frees it', async () => {
    // Ports of this suite's range (19000-19099): the API server on the host, and the LoadBalancer's port.
    const [apiPort, lbPort] = await twoFreePorts(19000, 19100);
    h.env.KUBECONFIG = path.join(h.home, 'kubeconfig');
    const kubectl = (args: string[]) =>
      run(KUBECTL, ['--context', 'berth', '--cache-dir', path.join(h.home, 'kubectl-cache'), ...args], {
        env: h.env,
        timeoutMs: 60_000,
      });
    const accel = (await status()).accel ?? '?';
    const t0 = Date.now();
    const en = await h.berth(['kube', 'enable', '--port', String(apiPort)]);
    const enableMs = Date.now() - t0;
    assert.equal(en.code, 0, en.stderr);
    assert.match(en.stderr, /Node berth is Ready/);
    console.log(`# berth kube enable → node Ready in the VM (${accel}): ${(enableMs / 1000).toFixed(1)} s`);
    const st = JSON.parse((await h.berth(['kube', 'status', '--json'])).stdout) as {
      state: string;
      driver: string;
      apiServer?: string;
      problems: unknown[];
    };
    assert.equal(st.state, 'running');
    assert.equal(st.driver, 'qemu');
    assert.equal(st.apiServer, `https://127.0.0.1:${apiPort}`);
    assert.deepEqual(st.problems, []);
    const nodes = await kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[0].metadata.name} {.items[0].status.conditions[?(@.type=="Ready")].status}',
    ]);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.equal(nodes.stdout.trim(), 'berth True');
    const manifest = `apiVersion: v1
kind: Pod
metadata: {name: greeter, labels: {app: greeter}}
spec:
  containers:
  - name: c
    image: ${guestRef('busybox:latest')}
    command: [sh, -c, 'while true; do echo hello-from-the-vm-pod | nc -l -p 8080; done']
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: greeter}
spec:
  type: LoadBalancer
  selector: {app: greeter}
  ports: [{port: ${lbPort}, targetPort: 8080}]
`;
    const manifestFile = path.join(h.home, 'greeter.yaml');
    await fsp.writeFile(manifestFile, manifest);
    const ap = await kubectl(['apply', '-f', manifestFile]);
    assert.equal(ap.code, 0, ap.stderr);
    const greeting = await until(
      `the LoadBalancer on the host's 127.0.0.1:${lbPort}`,
      async () => ((await readTcp(lbPort)).includes('hello-from-the-vm-pod') ? true : undefined),
      180_000,
    );
    assert.ok(greeting);
    // The service proxy's nftables rules went in whole (the guest kernel has the reject and numgen modules).
    const log = await h.berth(['logs', 'kube', '-n', '1000']);
    assert.match(log.stdout, /"msg":"kubelet started"/, '`berth logs kube` reads the log in the guest');
    assert.doesNotMatch(log.stdout, /service rules not applied/);
    const ingress = await kubectl([
      'get',
      'svc',
      'greeter',
      '-o',
      'jsonpath={.status.loadBalancer.ingress[0].hostname}',
    ]);
    assert.equal(ingress.stdout, 'localhost');
    const dis = await h.berth(['kube', 'disable']);
    assert.equal(dis.code, 0, dis.stderr);
    // The pod's sandbox and its container.
    assert.match(dis.stderr, /Removed 2 pod containers/);
    // The forwards go with it: the API port and the LoadBalancer's port are free on the host again.
    await until(
      'the host ports freed',
      async () => ((await portIsFree(apiPort)) && (await portIsFree(lbPort)) ? true : undefined),
      15_000,
    );
    const off = await h.berth(['kube', 'status', '--json']);
    assert.equal(off.code, 3);
    assert.equal((JSON.parse(off.stdout) as { state: string }).state, 'stopped');
  });

  it('kill -9 of QEMU, then start again: the data disk kept its contents and the pulled image', async () => {
    // sync: a hard kill loses what the guest had only in its page cache, as a power cut would.
    const w = await shell('echo survives > /var/lib/berth/marker && sync');
    assert.equal(w.code, 0, w.stderr);
    const before = await status();
    assert.ok(before.pid);
    process.kill(before.pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(before.pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual((await status()).state, 'running');
    const r = await h.berth(['start']);
    assert.equal(r.code, 0, r.stderr);
    const m = await shell('cat /var/lib/berth/marker');
    assert.equal(m.stdout, 'survives\n');
    const ls = await h.docker(['--context', 'berth', 'images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(
      ls.stdout.split('\n').includes(guestRef('busybox:latest')),
      `images after the crash: ${ls.stdout}`,
    );
    assert.equal(
      (await h.docker(['--context', 'berth', 'version', '--format', '{{.Server.Version}}'])).code,
      0,
    );
  });

  it('stop is graceful and leaves no QEMU, no tunnel and no socket behind', async () => {
    const s = await status();
    const t0 = Date.now();
    const r = await h.berth(['stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /stopping it hard/, 'the guest powered itself off');
    console.log(`# berth stop: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(alive(s.pid!), false);
    assert.equal(alive(s.tunnelPid!), false);
    assert.equal(existsSync(h.socket), false);
    const left = await run('pgrep', ['-f', h.home]);
    assert.equal(left.stdout.trim(), '', `processes left: ${left.stdout}`);
    assert.equal((await h.berth(['status'])).code, 3);
  });
});

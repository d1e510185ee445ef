/** Create-time config through the real docker CLI: image merge rules, users, mounts and volumes, resources, isolation. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startContainerDaemon } from '../helpers/container-daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

describe('containers: config, users, mounts, volumes, isolation', () => {
  let d: TestDaemon;
  let tmp: string;
  const dk = (args: string[], input?: string) =>
    d.docker(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const out = async (args: string[]) => {
    const r = await dk(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    ({ d } = await startContainerDaemon());
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-ctr-'));
  });
  after(async () => {
    await d.destroy();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('merges env by key, keeps image workdir, combines entrypoint and cmd as Docker does', async () => {
    assert.equal(
      await out([
        'run',
        '--rm',
        '-e',
        'APP_MODE=run',
        '-e',
        'NEW=1',
        'berth-app',
        'sh',
        '-c',
        'echo $APP_MODE $KEEP $NEW $(pwd)',
      ]),
      'run 1 1 /srv\n',
    );
    assert.equal(
      await out(['run', '--rm', '-w', '/new/dir', 'busybox', 'pwd']),
      '/new/dir\n',
      'workdir created if missing',
    );
    assert.equal(
      await out(['run', '--rm', '--entrypoint', 'echo', 'busybox']),
      '\n',
      'an explicit entrypoint drops the image cmd',
    );
    assert.equal(await out(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'a', 'b']), 'a b\n');
    assert.equal(await out(['run', '--rm', '--hostname', 'box1', 'busybox', 'hostname']), 'box1\n');
    const bad = await dk(['run', '--rm', '-w', 'relative', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /the working directory 'relative' is invalid, it needs to be an absolute path/);
  });

  it('resolves users and groups from the image, with --group-add', async () => {
    assert.equal(
      await out([
        'run',
        '--rm',
        '-u',
        'app',
        'berth-app',
        'sh',
        '-c',
        'echo $(id -u):$(id -g):$(id -G):$HOME',
      ]),
      '1000:1000:1000 50:/home/app\n',
    );
    assert.equal(
      await out(['run', '--rm', '-u', 'www:staff', 'berth-app', 'sh', '-c', 'echo $(id -u) $(id -g)']),
      '33 50\n',
    );
    assert.equal(
      await out(['run', '--rm', '-u', '4242:4343', 'berth-app', 'sh', '-c', 'echo $(id -u):$(id -g)']),
      '4242:4343\n',
    );
    const groups = (
      await out([
        'run',
        '--rm',
        '-u',
        'www',
        '--group-add',
        'app',
        '--group-add',
        '777',
        'berth-app',
        'id',
        '-G',
      ])
    )
      .trim()
      .split(' ')
      .sort();
    assert.deepEqual(groups, ['1000', '33', '50', '777']);
    const nouser = await dk(['run', '--rm', '-u', 'ghost', 'berth-app', 'true']);
    assert.notEqual(nouser.code, 0);
    assert.match(nouser.stderr, /unable to find user ghost: no matching entries in passwd file/);
  });

  it('bind mounts (-v and --mount, ro), tmpfs with options, and clear errors for bad specs', async () => {
    const src = path.join(tmp, 'bind');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'host.txt'), 'from host\n');
    assert.equal(
      await out([
        'run',
        '--rm',
        '-v',
        `${src}:/mnt`,
        'busybox',
        'sh',
        '-c',
        'cat /mnt/host.txt; echo back > /mnt/ctr.txt',
      ]),
      'from host\n',
    );
    assert.equal(await fsp.readFile(path.join(src, 'ctr.txt'), 'utf8'), 'back\n');
    const ro = await dk([
      'run',
      '--rm',
      '--mount',
      `type=bind,src=${src},dst=/mnt,readonly`,
      'busybox',
      'touch',
      '/mnt/x',
    ]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    const missing = await dk([
      'run',
      '--rm',
      '--mount',
      'type=bind,src=/nonexistent/berth,dst=/x',
      'busybox',
      'true',
    ]);
    assert.equal(missing.code, 125);
    assert.match(
      missing.stderr,
      /invalid mount config for type "bind": bind source path does not exist: \/nonexistent\/berth/,
    );
    const created = path.join(tmp, 'made-by-v');
    assert.equal((await dk(['run', '--rm', '-v', `${created}:/m`, 'busybox', 'true'])).code, 0);
    assert.ok(existsSync(created), '-v creates a missing host directory, as dockerd');
    const rel = await dk(['run', '--rm', '-v', 'vol:relative', 'busybox', 'true']);
    assert.equal(rel.code, 125);
    assert.match(rel.stderr, /mount path must be absolute/);
    const dup = await dk(['run', '--rm', '-v', `${src}:/m`, '--tmpfs', '/m', 'busybox', 'true']);
    assert.match(dup.stderr, /Duplicate mount point: \/m/);
    assert.equal(
      await out([
        'run',
        '--rm',
        '--tmpfs',
        '/scratch:size=1m,mode=1770',
        'busybox',
        'sh',
        '-c',
        "stat -c %a /scratch; grep ' /scratch ' /proc/mounts | grep -o 'size=[0-9a-z]*'",
      ]),
      '1770\nsize=1024k\n',
    );
    const noexec = await dk([
      'run',
      '--rm',
      '--tmpfs',
      '/t',
      'busybox',
      'sh',
      '-c',
      'cp /bin/busybox /t/b && /t/b true',
    ]);
    assert.notEqual(noexec.code, 0, 'tmpfs is noexec by default');
    assert.equal(
      await out([
        'run',
        '--rm',
        '--read-only',
        '--tmpfs',
        '/tmp',
        'busybox',
        'sh',
        '-c',
        'touch /tmp/ok && ! touch /root/no 2>/dev/null && echo ro-ok',
      ]),
      'ro-ok\n',
    );
  });

  it('named volumes: created on use, content copied from the image once, in use → 409, rm -v removes anonymous ones', async () => {
    assert.equal(
      await out([
        'run',
        '--rm',
        '-v',
        'appdata:/data',
        'berth-app',
        'sh',
        '-c',
        'cat /data/seed.txt; stat -c %u:%g:%a /data; echo more > /data/new.txt',
      ]),
      'from image\n1000:1000:750\n',
    );
    assert.equal(
      await out(['run', '--rm', '-v', 'appdata:/data', 'busybox', 'ls', '/data']),
      'new.txt\nseed.txt\n',
      'content survives and is not copied again',
    );
    assert.equal((await dk(['volume', 'create', 'emptyvol'])).code, 0);
    assert.equal(
      await out([
        'run',
        '--rm',
        '--mount',
        'type=volume,src=emptyvol,dst=/data,volume-nocopy',
        'berth-app',
        'ls',
        '-A',
        '/data',
      ]),
      '',
    );
    assert.equal((await dk(['create', '--name', 'holder', '-v', 'appdata:/data', 'busybox'])).code, 0);
    const inUse = await dk(['volume', 'rm', 'appdata']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /remove appdata: volume is in use - \[[0-9a-f]{64}\]/);
    assert.equal((await d.request('DELETE', '/v1.44/volumes/appdata')).status, 409);
    // Image VOLUME without -v: an anonymous volume, primed from the image, removed by rm -v.
    assert.equal(
      (await dk(['run', '--name', 'anon', 'berth-app', 'cat', '/data/seed.txt'])).stdout,
      'from image\n',
    );
    const mounts = JSON.parse(await out(['inspect', '--format', '{{json .Mounts}}', 'anon'])) as Array<{
      Type: string;
      Name: string;
      Destination: string;
    }>;
    assert.equal(mounts.length, 1);
    assert.equal(mounts[0].Type, 'volume');
    assert.equal(mounts[0].Destination, '/data');
    assert.match(mounts[0].Name, /^[0-9a-f]{64}$/);
    assert.equal((await dk(['rm', '-v', 'anon', 'holder'])).code, 0);
    const left = (await out(['volume', 'ls', '-q'])).trim().split('\n').sort();
    assert.deepEqual(left, ['appdata', 'emptyvol']);
    assert.equal((await dk(['volume', 'rm', 'appdata', 'emptyvol'])).code, 0);
    // Driver options: the local driver mounts the device for as long as a container uses the volume.
    assert.equal(
      (await dk(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'tv']))
        .code,
      0,
    );
    assert.equal(
      await out([
        'run',
        '--rm',
        '-v',
        'tv:/t',
        'busybox',
        'sh',
        '-c',
        "grep ' /t ' /proc/mounts | cut -d' ' -f3; grep ' /t ' /proc/mounts | grep -o 'size=[0-9a-z]*'",
      ]),
      'tmpfs\nsize=2048k\n',
    );
    const mp = path.join(d.dataRoot, 'volumes', 'tv', '_data');
    assert.ok(
      !(await fsp.readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mp} `),
      'unmounted once no container uses it',
    );
    assert.equal((await dk(['volume', 'rm', 'tv'])).code, 0);
  });

  it('ulimits, sysctls, init, shm size, resources and their errors', async () => {
    assert.equal(
      await out([
        'run',
        '--rm',
        '--ulimit',
        'nofile=512:1024',
        'busybox',
        'sh',
        '-c',
        'ulimit -n; ulimit -Hn',
      ]),
      '512\n1024\n',
    );
    assert.equal(
      await out([
        'run',
        '--rm',
        '--sysctl',
        'net.ipv4.ip_forward=1',
        'busybox',
        'cat',
        '/proc/sys/net/ipv4/ip_forward',
      ]),
      '1\n',
    );
    const badSysctl = await d.request('POST', '/v1.44/containers/create', {
      Image: 'busybox',
      HostConfig: { Sysctls: { 'kernel.hostname': 'x' } },
    });
    assert.equal(badSysctl.status, 400);
    assert.match(badSysctl.body, /sysctl 'kernel.hostname' is not allowed/);
    assert.equal(
      await out(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']).then(
        (s) => /docker-init|init/.test(s),
      ),
      true,
    );
    assert.equal(
      await out([
        'run',
        '--rm',
        '--shm-size',
        '8m',
        'busybox',
        'sh',
        '-c',
        "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9a-z]*'",
      ]),
      'size=8192k\n',
    );
    assert.equal(
      await out([
        'run',
        '--rm',
        '-m',
        '64m',
        'busybox',
        'sh',
        '-c',
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      ]),
      `${64 * 1024 * 1024}\n`,
    );
    const badMem = await d.request('POST', '/v1.44/containers/create', {
      Image: 'busybox',
      HostConfig: { Memory: 1024 },
    });
    assert.equal(badMem.status, 400);
    assert.match(badMem.body, /Minimum memory limit allowed is 6MB/);
    const swap = await dk(['run', '--rm', '-m', '64m', '--memory-swap', '32m', 'busybox', 'true']);
    assert.match(swap.stderr, /Minimum memoryswap limit should be larger than memory limit/);
    const oom = await dk([
      'run',
      '--name',
      'oom',
      '-m',
      '8m',
      '--memory-swap',
      '8m',
      'busybox',
      'sh',
      '-c',
      'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done',
    ]);
    assert.equal(oom.code, 137);
    assert.equal(
      await out(['inspect', '--format', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom']),
      'true 137\n',
    );
    assert.equal((await dk(['rm', 'oom'])).code, 0);
    const badMemStr = await dk(['run', '--rm', '-m', 'lots', 'busybox', 'true']);
    assert.notEqual(badMemStr.code, 0);
    assert.match(badMemStr.stderr, /invalid/i);
  });

  it('--oom-score-adj: exact where berthd may lower scores, else raised to its own; exec gets the container score', async () => {
    // dockerd (runc) gives the container's init and every exec the score of HostConfig.OomScoreAdj. Below 0
    // the kernel wants CAP_SYS_RESOURCE in the initial user namespace; berthd (started by this test, so with
    // its privileges) without it raises such a request to its own score, as moby's rootless spec conversion
    // and containerd's restrict_oom_score_adj do, where runc would fail the start ("Permission denied").
    const status = await fsp.readFile('/proc/self/status', 'utf8');
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
    const initNs = /^\s*0\s+0\s+4294967295\s*$/.test(await fsp.readFile('/proc/self/uid_map', 'utf8'));
    const ownScore = Number((await fsp.readFile(`/proc/${d.proc.pid}/oom_score_adj`, 'utf8')).trim());
    const canLower = ((capEff >> 24n) & 1n) === 1n && initNs;
    const given = (v: number) => (canLower || v >= ownScore ? v : ownScore);
    for (const v of [-998, -1, 500]) {
      assert.equal(
        await out([
          'run',
          '--rm',
          '--oom-score-adj',
          String(v),
          'busybox',
          'cat',
          '/proc/self/oom_score_adj',
        ]),
        `${given(v)}\n`,
        `--oom-score-adj ${v} (berthd ${canLower ? 'may lower scores' : `cannot go below ${ownScore}`})`,
      );
    }
    await out(['run', '-d', '--name', 'oom-exec', '--oom-score-adj', '-997', 'busybox', 'sleep', '60']);
    try {
      assert.equal(await out(['inspect', '--format', '{{.HostConfig.OomScoreAdj}}', 'oom-exec']), '-997\n');
      assert.equal(await out(['exec', 'oom-exec', 'cat', '/proc/self/oom_score_adj']), `${given(-997)}\n`);
    } finally {
      await dk(['rm', '-f', 'oom-exec']);
    }
    await out(['run', '-d', '--name', 'oom-exec', '--oom-score-adj', '700', 'busybox', 'sleep', '60']);
    try {
      // Not berthd's score: the exec joins the container's.
      assert.equal(await out(['exec', 'oom-exec', 'cat', '/proc/self/oom_score_adj']), '700\n');
    } finally {
      await dk(['rm', '-f', 'oom-exec']);
    }
    const bad = await dk(['run', '--rm', '--oom-score-adj', '-1001', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /Invalid value -1001, range for oom score adj is \[-1000, 1000\]/);
  });

  it('applies capabilities: defaults, --cap-drop, --cap-add, --privileged', async () => {
    const capEff = async (args: string[]) =>
      (
        await out(['run', '--rm', ...args, 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status | cut -f2'])
      ).trim();
    const dflt = BigInt(`0x${await capEff([])}`);
    assert.equal(dflt, 0xa80425fbn, "Docker's default capability set");
    assert.equal(BigInt(`0x${await capEff(['--cap-drop', 'CHOWN'])}`), dflt & ~1n);
    assert.equal(BigInt(`0x${await capEff(['--cap-add', 'NET_ADMIN'])}`), dflt | (1n << 12n));
    assert.ok(BigInt(`0x${await capEff(['--privileged'])}`) > dflt);
    const net = await dk(['run', '--rm', 'busybox', 'ip', 'link', 'add', 'x0', 'type', 'dummy']);
    assert.notEqual(net.code, 0, 'no NET_ADMIN by default');
  });

  it('isolates processes, mounts and files; contains a fork bomb under --pids-limit', async () => {
    const ps = await out(['run', '--rm', 'busybox', 'ps', '-o', 'pid,comm']);
    assert.deepEqual(
      ps
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim()),
      ['1 ps'],
    );
    // Mount points (2nd field) are the container's own; host paths appear only as overlay options, as with Docker.
    const points = (await out(['run', '--rm', 'busybox', 'cat', '/proc/mounts']))
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '');
    assert.ok(
      !points.some((p) => p.startsWith(d.dataRoot) || p.startsWith('/work') || p === '/home'),
      points.join(','),
    );
    assert.equal(
      (
        await dk([
          'run',
          '-d',
          '--name',
          'secret',
          'busybox',
          'sh',
          '-c',
          'echo s3cret > /root/secret; sleep 300',
        ])
      ).code,
      0,
    );
    const peek = await dk([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'cat /root/secret 2>&1; ls /proc | grep -c "^[0-9]"',
    ]);
    assert.doesNotMatch(peek.stdout, /s3cret/);
    assert.equal((await dk(['rm', '-f', 'secret'])).code, 0);
    const t0 = Date.now();
    const bomb = await dk([
      'run',
      '--rm',
      '--pids-limit',
      '50',
      'busybox',
      'sh',
      '-c',
      'b() { b | b & }; b; sleep 2; echo survived; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
    ]);
    assert.match(bomb.stdout, /survived\n50\n/);
    assert.ok(Date.now() - t0 < 30_000);
    const hostOk = await d.request('GET', '/_ping');
    assert.equal(hostOk.status, 200);
  });
});

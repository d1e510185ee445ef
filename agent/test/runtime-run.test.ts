/** The runtime on the real kernel: output and logs, exit codes, isolation as Docker's defaults. */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RuntimeError } from '../src/runtime/types.js';
import { collect, demux, kernelTestsBlocked, makeFixture, run, type Fixture } from './runtime-fixture.js';

const blocked = kernelTestsBlocked();

describe('runtime: run', { skip: blocked }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => {
    await fx.cleanup();
  });

  it('captures stdout and stderr apart, in attach frames and the json-file log, and returns the exit code', async () => {
    const spec = fx.spec(['sh', '-c', 'echo out; echo err >&2; printf "no newline"; exit 3']);
    const r = await run(fx, spec);
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, 'out\nno newline');
    assert.equal(r.stderr, 'err\n');
    const lines = (await fsp.readFile(spec.log.path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    const byStream = (s: string) => lines.filter((l) => l.stream === s).map((l) => l.log);
    assert.deepEqual(byStream('stdout'), ['out\n', 'no newline']);
    assert.deepEqual(byStream('stderr'), ['err\n']);
    for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  });

  it('reports a missing command as 127 and a non-executable one as 126, as dockerd', async () => {
    await assert.rejects(fx.runtime.create(fx.spec(['nosuch'])), (err: RuntimeError) => {
      assert.equal(err.exitCode, 127);
      assert.match(err.message, /exec: "nosuch": executable file not found in \$PATH/);
      return true;
    });
    await assert.rejects(fx.runtime.create(fx.spec(['/bin/not-exec'])), (err: RuntimeError) => {
      assert.equal(err.exitCode, 126);
      assert.match(err.message, /permission denied/);
      return true;
    });
    assert.deepEqual(await fx.runtime.list(), [], 'a failed create leaves no runtime state');
  });

  it('reports death by SIGKILL as 137', async () => {
    const spec = fx.spec(['sleep', '100']);
    await fx.runtime.create(spec);
    await fx.runtime.start(spec.id);
    await fx.runtime.kill(spec.id, 'SIGKILL');
    const exit = await fx.runtime.wait(spec.id);
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.signal, 9);
    await fx.runtime.delete(spec.id);
  });

  it('isolates: pid 1, no host processes or mounts, its own hostname, /proc/sys read-only', async () => {
    const script = [
      'echo pid=$$',
      'echo maxpid=$(ls -d /proc/[0-9]* | sed s,/proc/,, | sort -n | tail -1)',
      'hostname',
      'grep -c " /work\\| /home\\| /var/lib" /proc/self/mountinfo || true',
      'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable || echo sys-ro',
      'cat /proc/kcore 2>/dev/null | wc -c',
      'ls /sys/firmware | wc -l',
    ].join('; ');
    const r = await run(fx, fx.spec(['sh', '-c', script], { hostname: 'isolated' }));
    const lines = r.stdout.trim().split('\n');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(lines[0], 'pid=1');
    assert.ok(
      Number(lines[1].split('=')[1]) < 10,
      `only the container's own (low) pids are visible: ${lines[1]}`,
    );
    assert.equal(lines[2], 'isolated');
    assert.equal(lines[3], '0', 'no host mounts visible');
    assert.equal(lines[4], 'sys-ro');
    assert.equal(lines[5], '0', '/proc/kcore is masked');
    assert.equal(lines[6], '0', '/sys/firmware is masked');
  });

  it("applies Docker's capabilities, no_new_privs and a seccomp filter that refuses unshare and mount", async () => {
    const script =
      'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; unshare -n true 2>&1; mount -t tmpfs t /mnt 2>&1; echo done';
    const r = await run(fx, fx.spec(['sh', '-c', script]));
    assert.match(r.stdout, /CapEff:\s+00000000a80425fb/);
    assert.match(r.stdout, /CapBnd:\s+00000000a80425fb/);
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    assert.match(r.stdout, /Seccomp:\s+2/);
    assert.match(r.stdout, /unshare: .*Operation not permitted/);
    assert.match(r.stdout, /mount: .*(Operation not permitted|permission denied)/i);
  });

  it('--privileged: every capability the host holds, no seccomp, the host /dev, writable /proc/sys', async () => {
    const own = /CapEff:\s+(\w+)/.exec(await fsp.readFile('/proc/self/status', 'utf8'))![1];
    const std = [
      'null',
      'zero',
      'full',
      'random',
      'urandom',
      'tty',
      'console',
      'ptmx',
      'pts',
      'shm',
      'mqueue',
      'fd',
      'stdin',
      'stdout',
      'stderr',
    ];
    const hostOnly = (await fsp.readdir('/dev')).find((n) => !std.includes(n) && /^[a-z][a-z0-9-]*$/.test(n));
    assert.ok(hostOnly, 'the host has some device the default /dev lacks');
    const script = `grep -E "^(CapEff|Seccomp):" /proc/self/status; [ -e /dev/${hostOnly} ] && echo host-dev; echo 1 > /proc/sys/net/ipv4/ip_forward && echo sys-rw`;
    const r = await run(
      fx,
      fx.spec(['sh', '-c', script], {
        privileged: true,
        seccomp: 'unconfined',
        maskedPaths: [],
        readonlyPaths: [],
      }),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`CapEff:\\s+${own}\n`));
    assert.match(r.stdout, /Seccomp:\s+0\nhost-dev\nsys-rw\n$/);
  });

  it('switches user and groups; a non-root user has no effective capabilities', async () => {
    const spec = fx.spec(['sh', '-c', 'id; grep CapEff /proc/self/status; touch /root/x 2>&1 || true'], {
      process: { user: { uid: 1000, gid: 1000, additionalGids: [2000] }, cwd: '/home/user/work' },
    });
    const r = await run(fx, spec);
    assert.match(r.stdout, /uid=1000\(user\) gid=1000\(user\) groups=2000\(extra\)/);
    assert.match(r.stdout, /CapEff:\s+0000000000000000/);
    assert.ok(await fsp.stat(path.join(fx.rootfs, 'home/user/work')), 'the missing workdir was created');
  });

  it('runs --init as pid 1, which reaps orphans, forwards signals and passes the exit code through', async () => {
    const script =
      'cat /proc/1/cmdline | tr "\\0" " "; echo; (sleep 0.05 &); sleep 0.3; ps -o stat | grep -c Z; exit 7';
    const r = await run(fx, fx.spec(['sh', '-c', script], { process: { init: true } }));
    assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c/);
    assert.match(r.stdout, /\n0\n$/, 'the orphaned sleep was reaped, no zombie left');
    assert.equal(r.exitCode, 7);
    const spec = fx.spec(['sleep', '100'], { process: { init: true } });
    await fx.runtime.create(spec);
    await fx.runtime.start(spec.id);
    await new Promise((r) => setTimeout(r, 50));
    await fx.runtime.kill(spec.id, 'SIGTERM');
    assert.equal((await fx.runtime.wait(spec.id)).exitCode, 143, 'SIGTERM reached sleep through the init');
    await fx.runtime.delete(spec.id);
  });

  it('gives the process a PTY when asked, and one raw output stream', async () => {
    const spec = fx.spec(
      ['sh', '-c', 'stty size; read x; tty; stty size; echo err >&2; echo console > /dev/console'],
      {
        process: { terminal: true, openStdin: true, consoleSize: { rows: 20, cols: 70 } },
      },
    );
    spec.log.path = ''; // --log-driver none
    await fx.runtime.create(spec);
    const att = await fx.runtime.attach(spec.id, { stdin: true, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(spec.id);
    await new Promise((r) => setTimeout(r, 100));
    await fx.runtime.resize(spec.id, { rows: 33, cols: 101 });
    att.stdin!.write('go\r');
    assert.equal((await fx.runtime.wait(spec.id)).exitCode, 0);
    const text = (await out).toString();
    assert.match(text, /^20 70\r\ngo\r\n\/dev\/pts\/0\r\n33 101\r\nerr\r\nconsole\r\n$/);
    assert.deepEqual(
      (await fsp.readdir(path.join(fx.root, 'logs'))).filter((n) => n.startsWith(spec.id)),
      [],
      'no log file with the none driver',
    );
    await fx.runtime.delete(spec.id);
  });

  it('closes stdin for the process when the attacher ends it (echo hi | docker run -i cat)', async () => {
    const spec = fx.spec(['cat'], { process: { openStdin: true, stdinOnce: true } });
    await fx.runtime.create(spec);
    const att = await fx.runtime.attach(spec.id, { stdin: true, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(spec.id);
    att.stdin!.end('hi\n');
    const exit = await fx.runtime.wait(spec.id);
    assert.equal(exit.exitCode, 0);
    assert.equal(demux(await out).stdout, 'hi\n');
    await fx.runtime.delete(spec.id);
  });

  it("a process that never reads stdin cannot wedge its supervisor; it gets oom_score_adj 0, not the daemon's", async () => {
    const spec = fx.spec(['sh', '-c', 'sleep 0.3; cat /proc/self/oom_score_adj'], {
      process: { openStdin: true, stdinOnce: true },
    });
    await fx.runtime.create(spec);
    const att = await fx.runtime.attach(spec.id, { stdin: true, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(spec.id);
    att.stdin!.write(Buffer.alloc(4 << 20, 'x'));
    att.stdin!.end();
    const exit = await fx.runtime.wait(spec.id);
    assert.equal(exit.exitCode, 0);
    assert.equal(demux(await out).stdout, '0\n');
    await fx.runtime.delete(spec.id);
  });

  it('mounts an overlay rootfs: writes land in the upper dir, the lower layer stays untouched', async () => {
    const dir = path.join(fx.root, 'ovl');
    // The caller owns the snapshot dirs (containers/container-dir.ts): the runtime only mounts them.
    for (const d of ['upper', 'work', 'merged']) await fsp.mkdir(path.join(dir, d), { recursive: true });
    const spec = fx.spec(['sh', '-c', 'echo new > /created; rm /etc/passwd; ls /etc'], {
      rootfs: {
        kind: 'overlay',
        lowerDirs: [fx.rootfs],
        upperDir: `${dir}/upper`,
        workDir: `${dir}/work`,
        target: `${dir}/merged`,
      },
    });
    const r = await run(fx, spec);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await fsp.readFile(`${dir}/upper/created`, 'utf8'), 'new\n');
    assert.ok(await fsp.stat(path.join(fx.rootfs, 'etc/passwd')));
    assert.equal(
      (await fsp.stat(`${dir}/upper/etc/passwd`)).isCharacterDevice(),
      true,
      'whiteout for the deleted file',
    );
    assert.deepEqual(await fsp.readdir(`${dir}/merged`), [], 'the overlay was never mounted on the host');
  });

  it('mounts an overlay of many layers whose paths exceed a page of mount data', async () => {
    const layers: string[] = [];
    for (let i = 0; i < 60; i++) {
      const d = path.join(fx.root, 'layers', `${i.toString().padStart(2, '0')}${'a'.repeat(62)}`, 'diff');
      await fsp.mkdir(d, { recursive: true });
      await fsp.writeFile(path.join(d, `f${i}`), `${i}`);
      layers.push(d);
    }
    layers.push(fx.rootfs);
    const dir = path.join(fx.root, 'ovl-many');
    for (const d of ['upper', 'work', 'merged']) await fsp.mkdir(path.join(dir, d), { recursive: true });
    const spec = fx.spec(['sh', '-c', 'cat /f0 /f59; echo'], {
      rootfs: {
        kind: 'overlay',
        lowerDirs: layers.reverse(),
        upperDir: `${dir}/upper`,
        workDir: `${dir}/work`,
        target: `${dir}/merged`,
      },
    });
    const r = await run(fx, spec);
    assert.equal(r.stdout, '059\n', r.stderr);
  });

  it('honours --read-only, ro bind mounts, tmpfs mounts and namespaced sysctls', async () => {
    const host = path.join(fx.root, 'bind');
    await fsp.mkdir(host, { recursive: true });
    await fsp.writeFile(path.join(host, 'f'), 'from host\n');
    const script =
      'cat /data/f; touch /data/x 2>&1; touch /rootfile 2>&1; touch /scratch/ok && echo tmpfs-ok; cat /proc/sys/net/ipv4/ip_forward';
    const spec = fx.spec(['sh', '-c', script], {
      readonlyRootfs: true,
      mounts: [
        { type: 'bind', source: host, destination: '/data', readonly: true },
        {
          type: 'tmpfs',
          destination: '/scratch',
          readonly: false,
          size: 1 << 20,
          options: ['nosuid', 'nodev'],
        },
      ],
      sysctls: { 'net.ipv4.ip_forward': '1' },
    });
    const r = await run(fx, spec);
    assert.match(r.stdout, /from host/);
    assert.match(r.stdout, /touch: \/data\/x: Read-only file system/);
    assert.match(r.stdout, /touch: \/rootfile: Read-only file system/);
    assert.match(r.stdout, /tmpfs-ok\n1\n$/);
  });

  it('device cgroup: mknod is allowed but a host device cannot be opened; --device nodes can', async () => {
    const script =
      'mknod /tmp/mem c 1 1 && echo made; head -c 1 /tmp/mem 2>&1; head -c 3 /dev/myzero | wc -c';
    const r = await run(
      fx,
      fx.spec(['sh', '-c', script], {
        devices: [{ hostPath: '/dev/zero', containerPath: '/dev/myzero', permissions: 'rwm' }],
      }),
    );
    assert.match(r.stdout, /^made\nhead: \/tmp\/mem: Operation not permitted\n3\n$/);
  });

  it('binds the /etc files berthd writes, applies ulimits, and serves several attachers at once', async () => {
    const etc = path.join(fx.root, 'etc-files');
    await fsp.mkdir(etc, { recursive: true });
    await fsp.writeFile(path.join(etc, 'hostname'), 'from-berthd\n');
    await fsp.writeFile(path.join(etc, 'hosts'), '127.0.0.1 localhost\n10.0.0.2 from-berthd\n');
    await fsp.writeFile(path.join(etc, 'resolv.conf'), 'nameserver 10.0.0.1\n');
    const spec = fx.spec(
      ['sh', '-c', 'cat /etc/hostname /etc/hosts /etc/resolv.conf; ulimit -n; ulimit -Hn'],
      {
        etcFiles: {
          hostname: path.join(etc, 'hostname'),
          hosts: path.join(etc, 'hosts'),
          resolvConf: path.join(etc, 'resolv.conf'),
        },
        process: { rlimits: [{ type: 'nofile', soft: 321, hard: 654 }] },
      },
    );
    await fx.runtime.create(spec);
    const a = await fx.runtime.attach(spec.id, { stdin: false, stdout: true, stderr: true });
    const b = await fx.runtime.attach(spec.id, { stdin: false, stdout: true, stderr: false });
    const [outA, outB] = [collect(a.output), collect(b.output)];
    await fx.runtime.start(spec.id);
    assert.equal((await fx.runtime.wait(spec.id)).exitCode, 0);
    const expected =
      'from-berthd\n127.0.0.1 localhost\n10.0.0.2 from-berthd\nnameserver 10.0.0.1\n321\n654\n';
    assert.equal(demux(await outA).stdout, expected);
    assert.equal(demux(await outB).stdout, expected);
    await fx.runtime.delete(spec.id);
  });

  it('splits lines longer than 16 KiB into partial log entries and escapes JSON as dockerd', async () => {
    const spec = fx.spec([
      'sh',
      '-c',
      'head -c 40000 /dev/zero | tr "\\0" a; echo; printf "<tag> & \\"q\\" \\t\\001\\n"',
    ]);
    await run(fx, spec);
    const lines = (await fsp.readFile(spec.log.path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { log: string });
    assert.deepEqual(
      lines.map((l) => l.log.length),
      [16384, 16384, 40000 - 2 * 16384 + 1, 15],
    );
    assert.equal(lines[3].log, '<tag> & "q" \t\u0001\n');
    assert.match(
      await fsp.readFile(spec.log.path, 'utf8'),
      /\\u003ctag\\u003e \\u0026 \\"q\\" \\t\\u0001\\n/,
    );
  });

  it('rotates the json-file log at max-size, keeping max-file files', async () => {
    const spec = fx.spec([
      'sh',
      '-c',
      'for i in $(seq 200); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done',
    ]);
    spec.log = { ...spec.log, maxSize: 2000, maxFile: 3 };
    const r = await run(fx, spec);
    assert.equal(r.exitCode, 0);
    const names = (await fsp.readdir(path.dirname(spec.log.path))).filter((n) =>
      n.startsWith(path.basename(spec.log.path)),
    );
    assert.deepEqual(names.sort(), [
      path.basename(spec.log.path),
      `${path.basename(spec.log.path)}.1`,
      `${path.basename(spec.log.path)}.2`,
    ]);
    for (const n of names)
      assert.ok((await fsp.stat(path.join(path.dirname(spec.log.path), n))).size <= 2000);
    assert.match(await fsp.readFile(spec.log.path, 'utf8'), /line-200-/);
  });
});

/** The runtime on the real kernel: exec (with a PTY), pause, limits, OOM, surviving berthd's death, no leaks. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../src/runtime/index.js';
import type { ExecProcessSpec } from '../src/runtime/types.js';
import { DOCKER_DEFAULT_CAPS } from '../src/runtime/types.js';
import { collect, demux, kernelTestsBlocked, makeFixture, type Fixture } from './runtime-fixture.js';

const blocked = kernelTestsBlocked();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function execSpec(args: string[], over: Partial<ExecProcessSpec> = {}): ExecProcessSpec {
  return {
    args,
    env: ['PATH=/bin', 'TERM=xterm'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    terminal: false,
    capabilities: [...DOCKER_DEFAULT_CAPS],
    noNewPrivileges: true,
    privileged: false,
    seccomp: 'default',
    ...over,
  };
}

/** Host mounts that involve this fixture's paths (other engineers' tests mount and unmount meanwhile). */
async function ourMounts(fx: Fixture): Promise<string[]> {
  const lines = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  return lines.filter((l) => l.includes(fx.root) || l.includes(fx.stateRoot));
}

describe('runtime: lifecycle', { skip: blocked }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => {
    await fx.cleanup();
  });

  async function started(args: string[], over: Parameters<Fixture['spec']>[1] = {}) {
    const spec = fx.spec(args, over);
    await fx.runtime.create(spec);
    await fx.runtime.start(spec.id);
    return spec;
  }

  it('execs inside the running container: same pid namespace, exit code, stdout/stderr apart', async () => {
    const spec = await started(['sleep', '100']);
    const h = await fx.runtime.exec(
      spec.id,
      execSpec(['sh', '-c', 'echo $$ out; ps -o pid,comm | grep -c sleep; echo err >&2; exit 4']),
    );
    h.stdin.end();
    const [out, err, exit] = await Promise.all([collect(h.stdout), collect(h.stderr), h.exit]);
    assert.equal(exit.exitCode, 4);
    assert.match(out.toString(), /^\d+ out\n1\n$/);
    assert.equal(err.toString(), 'err\n');
    const early = await fx.runtime.exec(spec.id, execSpec(['true']));
    assert.equal((await early.exit).exitCode, 0);
    early.stdin.write(Buffer.alloc(1 << 20)); // into a closed pipe: must not throw in berthd
    early.stdin.end();
    await sleep(20);
    await assert.rejects(
      fx.runtime.exec(spec.id, execSpec(['nosuch'])),
      (e: { exitCode: number; message: string }) => {
        assert.equal(e.exitCode, 127);
        assert.match(e.message, /executable file not found in \$PATH/);
        return true;
      },
    );
    await fx.runtime.delete(spec.id);
  });

  it('exec with a PTY reports the console size and follows resize', async () => {
    const spec = await started(['sleep', '100']);
    const h = await fx.runtime.exec(
      spec.id,
      execSpec(['sh', '-c', 'stty size; read x; stty size'], {
        terminal: true,
        consoleSize: { rows: 30, cols: 100 },
      }),
    );
    const out = collect(h.stdout);
    await sleep(100);
    await h.resize({ rows: 40, cols: 120 });
    await sleep(50);
    h.stdin.write('go\r');
    const exit = await h.exit;
    assert.equal(exit.exitCode, 0);
    assert.equal(h.stderr, undefined);
    assert.match((await out).toString(), /30 100\r\n.*40 120\r\n/s);
    await fx.runtime.delete(spec.id);
  });

  it("joins another container's pid, net and ipc namespaces (--pid/--net/--ipc container:X)", async () => {
    const a = await started(['sleep', '100']);
    const pidA = (await fx.runtime.state(a.id))!.pid;
    const ns = `/proc/${pidA}/ns`;
    const b = fx.spec(
      ['sh', '-c', 'ps -o comm | grep -c sleep; for t in net ipc uts; do readlink /proc/self/ns/$t; done'],
      {
        namespaces: {
          pid: { mode: 'join', path: ns },
          net: { mode: 'join', path: ns },
          ipc: { mode: 'join', path: ns },
          uts: { mode: 'new' },
          cgroup: { mode: 'new' },
          mnt: { mode: 'new' },
        },
      },
    );
    await fx.runtime.create(b);
    const att = await fx.runtime.attach(b.id, { stdin: false, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(b.id);
    assert.equal((await fx.runtime.wait(b.id)).exitCode, 0);
    const [netA, ipcA, utsA] = await Promise.all(
      ['net', 'ipc', 'uts'].map((t) => fsp.readlink(`${ns}/${t}`)),
    );
    const lines = demux(await out)
      .stdout.trim()
      .split('\n');
    assert.deepEqual(lines.slice(0, 3), ['1', netA, ipcA], "A's sleep is visible; net and ipc are A's");
    assert.notEqual(lines[3], utsA, 'uts stays private');
    await fx.runtime.delete(b.id);
    await fx.runtime.delete(a.id);
  });

  it('pause freezes every process and resume thaws them', async () => {
    const spec = await started(['sh', '-c', 'while :; do :; done']);
    await sleep(50);
    await fx.runtime.pause(spec.id);
    assert.equal((await fx.runtime.state(spec.id))?.status, 'paused');
    await assert.rejects(
      fx.runtime.exec(spec.id, execSpec(['true'])),
      /is paused, unpause the container before exec/,
    );
    const a = (await fx.runtime.stats(spec.id)).cpu.totalUsage;
    await sleep(200);
    const b = (await fx.runtime.stats(spec.id)).cpu.totalUsage;
    assert.equal(b, a, 'no CPU used while frozen');
    await fx.runtime.resume(spec.id);
    await sleep(200);
    assert.ok((await fx.runtime.stats(spec.id)).cpu.totalUsage > b);
    assert.equal((await fx.runtime.state(spec.id))?.status, 'running');
    await fx.runtime.delete(spec.id);
  });

  it('shows the container its own cgroups read-only under /sys/fs/cgroup, with its limits', async () => {
    const script =
      'cat /proc/self/cgroup | grep -c ":/$"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; ' +
      'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus; (echo 1 > /sys/fs/cgroup/pids/pids.max) 2>&1';
    const spec = fx.spec(['sh', '-c', script], {
      cgroup: {
        parent: fx.cgroupParent,
        resources: {
          memory: 48 << 20,
          pidsLimit: 77,
          cpuQuota: 50000,
          cpuPeriod: 100000,
          cpuShares: 512,
          cpusetCpus: '0',
          blkioWeight: 500,
        },
      },
    });
    await fx.runtime.create(spec);
    const att = await fx.runtime.attach(spec.id, { stdin: false, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(spec.id);
    await fx.runtime.wait(spec.id);
    const text = demux(await out).stdout;
    const lines = text.split('\n');
    assert.ok(
      Number(lines[0].replace(/\D/g, '')) >= 5,
      `every hierarchy is rooted at the container's cgroup: ${lines[0]}`,
    );
    assert.match(text, new RegExp(`${48 << 20}\n77\n50000\n512\n0\n`));
    assert.match(text, /Read-only file system/);
    await fx.runtime.delete(spec.id);
  });

  it('memory limit: the OOM killer fires, exit 137 with oomKilled', async () => {
    const spec = await started(['sh', '-c', 'tail /dev/zero'], {
      cgroup: { parent: fx.cgroupParent, resources: { memory: 32 << 20, memorySwap: 32 << 20 } },
    });
    const exit = await fx.runtime.wait(spec.id);
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.oomKilled, true);
    await fx.runtime.delete(spec.id);
  });

  it('pids-limit 50 contains a fork bomb; stats and top see the processes', async () => {
    const spec = await started(
      ['sh', '-c', '(for i in $(seq 200); do sleep 60 & done) 2>/dev/null; exec sleep 60'],
      {
        cgroup: { parent: fx.cgroupParent, resources: { pidsLimit: 50 } },
      },
    );
    await sleep(700);
    const st = await fx.runtime.stats(spec.id);
    assert.equal(st.pids.limit, 50);
    assert.ok(st.pids.current <= 50 && st.pids.current >= 40, `pids.current = ${st.pids.current}`);
    assert.ok(st.memory.usage > 0 && st.memory.limit > 0);
    assert.deepEqual(st.networks, {}, 'a fresh network namespace has only lo, which Docker does not report');
    const top = await fx.runtime.top(spec.id);
    assert.equal(top.length, st.pids.current);
    await fx.runtime.update(spec.id, { pidsLimit: 60 });
    assert.equal((await fx.runtime.stats(spec.id)).pids.limit, 60);
    await fx.runtime.delete(spec.id);
    assert.equal(await fx.runtime.state(spec.id), undefined);
  });

  it("survives berthd's kill -9: reconcile re-adopts the container; delete leaves no mounts, cgroups or processes", async () => {
    const spec = fx.spec(['sh', '-c', 'echo started; sleep 100']);
    const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), 'runtime-orphan.js');
    // a separate Node process plays berthd: creates and starts the container, then dies by SIGKILL
    const child = spawn(process.execPath, [helper, fx.stateRoot, fx.cgroupParent, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
    );
    assert.match(line, /^running \d+$/);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const pid = Number(line.split(' ')[1]);
    assert.ok(process.kill(pid, 0), 'the container outlived its berthd');

    const rt = await createRuntime({ stateRoot: fx.stateRoot, cgroupParent: fx.cgroupParent });
    const report = await rt.reconcile(new Set([spec.id]));
    assert.deepEqual(
      report.running.map((s) => s.id),
      [spec.id],
    );
    const h = await rt.exec(spec.id, execSpec(['echo', 'still here']));
    h.stdin.end();
    assert.equal((await collect(h.stdout)).toString(), 'still here\n');
    const waiting = rt.wait(spec.id);
    await rt.kill(spec.id, 'SIGTERM');
    await rt.kill(spec.id, 'SIGKILL', { all: true });
    assert.equal((await waiting).exitCode, 137);
    assert.match(await fsp.readFile(spec.log.path, 'utf8'), /"log":"started\\n"/);
    await rt.delete(spec.id);

    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.deepEqual(await ourMounts(fx), [], 'nothing of the container was ever mounted on the host');
    assert.deepEqual(await fsp.readdir(fx.stateRoot), []);
    for (const h of ['memory', 'pids', 'cpu', 'freezer', 'unified']) {
      const dir = path.join('/sys/fs/cgroup', h, fx.cgroupParent);
      assert.deepEqual(
        (await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()),
        [],
        `${dir} has no leftovers`,
      );
    }
  });

  it('run/exec/delete cycles leak no processes, cgroups, state or file descriptors', async () => {
    const fds = async () => (await fsp.readdir('/proc/self/fd')).length;
    const children = async () =>
      (await fsp.readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')).trim();
    const cgroupDirs = async () =>
      (
        await fsp
          .readdir(path.join('/sys/fs/cgroup/memory', fx.cgroupParent), { withFileTypes: true })
          .catch(() => [])
      ).filter((d) => d.isDirectory()).length;
    const before = { fds: await fds(), cg: await cgroupDirs() };
    for (let i = 0; i < 25; i++) {
      const spec = await started(['sleep', '100']);
      const h = await fx.runtime.exec(spec.id, execSpec(['true'], { terminal: i % 2 === 0 }));
      h.stdin.end();
      h.stdout.resume();
      h.stderr?.resume();
      assert.equal((await h.exit).exitCode, 0);
      await fx.runtime.kill(spec.id, 'SIGKILL');
      await fx.runtime.wait(spec.id);
      await fx.runtime.delete(spec.id);
    }
    await sleep(50);
    assert.equal(await children(), '', 'no exec helper or shim is left as our child');
    assert.equal(await cgroupDirs(), before.cg);
    assert.deepEqual(await fsp.readdir(fx.stateRoot), []);
    assert.ok((await fds()) <= before.fds + 2, `file descriptors: ${before.fds} → ${await fds()}`);
  });

  it('reconcile removes state and cgroups of containers berthd no longer knows; close leaves nothing', async () => {
    const spec = await started(['sleep', '100']);
    const pid = (await fx.runtime.state(spec.id))!.pid;
    const report = await fx.runtime.reconcile(new Set());
    assert.ok(report.cleaned.includes(`state:${spec.id}`));
    assert.equal(await fx.runtime.state(spec.id), undefined);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await fx.runtime.close();
    for (const h of ['memory', 'pids', 'cpu', 'unified']) {
      assert.equal(
        await fsp.stat(path.join('/sys/fs/cgroup', h, fx.cgroupParent)).catch(() => undefined),
        undefined,
        `${h} parent removed`,
      );
    }
    assert.equal(await fsp.stat(fx.stateRoot).catch(() => undefined), undefined, 'state root removed');
  });
});

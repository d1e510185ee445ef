/**
 * Signals and exits without trusting a pid from a state file, on the real kernel:
 * - the container's init is signalled by its shim through a pidfd, so a pid in state.json that now names
 *   another process never gets the signal; with the shim gone, only a current member of the cgroup does;
 * - killing a cgroup and waiting for it to empty: through cgroup.kill and cgroup.events (inotify) where the
 *   cgroup has a cgroup2 directory (v2, or this hybrid host's unified tree), by signalling and polling
 *   cgroup.procs on pure v1. Both paths run here: the v2 driver on the host's controller-less cgroup2 mount.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { v1Hierarchies } from '../src/cgroups/detect.js';
import type { CgroupDriver, CgroupRef } from '../src/cgroups/types.js';
import { CgroupV1 } from '../src/cgroups/v1.js';
import { CgroupV2 } from '../src/cgroups/v2.js';
import { hostSys, type Sys } from '../src/sys/sys.js';
import { kernelTestsBlocked, makeFixture, type Fixture } from './runtime-fixture.js';

const blocked = kernelTestsBlocked();
const UNIFIED = '/sys/fs/cgroup/unified';
const alive = (pid: number): boolean => hostSys.pidAlive(pid);

/** A host without this cgroup layout skips, with the reason printed; under CI it fails instead. */
function skipped(t: { skip(why: string): void }, why: string): void {
  if (process.env.CI === 'true') throw new Error(`required under CI: ${why}`);
  console.log(`# skipped: ${why}`);
  t.skip(why);
}

/** A host process outside any container, standing in for whoever reuses a dead container's pid. */
function bystander(): ChildProcess {
  return spawn('sleep', ['300'], { stdio: 'ignore' });
}

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  for (const end = performance.now() + ms; performance.now() < end;) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('runtime: signals reach only the container', { skip: blocked }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => fx?.cleanup());

  const stateFile = (id: string) => path.join(fx.stateRoot, id, 'state.json');
  async function pointStateAt(id: string, pid: number): Promise<number> {
    const s = JSON.parse(await fsp.readFile(stateFile(id), 'utf8')) as { pid: number };
    const real = s.pid;
    await fsp.writeFile(stateFile(id), JSON.stringify({ ...s, pid }));
    return real;
  }

  it('kill goes to the init through its shim, whatever pid the state file holds', async () => {
    const spec = fx.spec(['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done']);
    await fx.runtime.create(spec);
    await fx.runtime.start(spec.id);
    const other = bystander();
    try {
      await pointStateAt(spec.id, other.pid!);
      await fx.runtime.kill(spec.id, 'SIGTERM');
      const exit = await fx.runtime.wait(spec.id);
      assert.equal(exit.exitCode, 7, 'the container got the SIGTERM');
      assert.ok(alive(other.pid!), 'the process that holds the recorded pid did not');
    } finally {
      other.kill('SIGKILL');
      await fx.runtime.delete(spec.id);
    }
  });

  it('without its shim, the init is signalled only as a member of its cgroup', async () => {
    const spec = fx.spec(['sleep', '300']);
    await fx.runtime.create(spec);
    await fx.runtime.start(spec.id);
    const st = await fx.runtime.state(spec.id);
    assert.ok(st && st.status === 'running');
    process.kill(st.shimPid, 'SIGKILL');
    assert.ok(await until(() => !alive(st.shimPid)), 'the shim is gone');
    const other = bystander();
    try {
      // A recorded pid that is not in the cgroup is left alone...
      const real = await pointStateAt(spec.id, other.pid!);
      await fx.runtime.kill(spec.id, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(alive(other.pid!), 'a pid outside the cgroup is never signalled');
      assert.ok(alive(real), 'nor was the container signalled through a wrong pid');
      // ...the real one is, and `all` reaches every member.
      await pointStateAt(spec.id, real);
      await fx.runtime.kill(spec.id, 'SIGKILL', { all: true });
      assert.ok(await until(() => !alive(real)), 'the container died');
    } finally {
      other.kill('SIGKILL');
      await fx.runtime.delete(spec.id);
    }
  });
});

/** Records which cgroup files a driver touched, over the real kernel. */
function tracingSys(): Sys & { touched: string[] } {
  const touched: string[] = [];
  return {
    ...hostSys,
    touched,
    readFile: (p) => (touched.push(`read ${path.basename(p)}`), hostSys.readFile(p)),
    writeFile: (p, d) => (touched.push(`write ${path.basename(p)}`), hostSys.writeFile(p, d)),
    waitFor: (p, done, ms) => (touched.push(`wait ${path.basename(p)}`), hostSys.waitFor(p, done, ms)),
  };
}

/** Puts a shell into the cgroup, then lets it fork two sleepers (they are born inside). */
async function populate(procsFiles: string[]): Promise<{ sh: ChildProcess; exited: Promise<unknown> }> {
  const sh = spawn('sh', ['-c', 'read go; sleep 300 & sleep 300 & wait'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise((r) => sh.once('exit', r));
  for (const f of procsFiles) await fsp.writeFile(f, String(sh.pid));
  sh.stdin.write('go\n');
  return { sh, exited };
}

async function exercise(cg: CgroupDriver, ref: CgroupRef, sys: Sys & { touched: string[] }) {
  await cg.create(ref, {}, 'all');
  try {
    const { exited } = await populate(cg.procsFiles(ref));
    assert.ok(await until(async () => (await cg.pids(ref)).length === 3), 'the shell and its two children');
    assert.equal(await cg.waitEmpty(ref, 100), false, 'still populated: the wait times out');
    sys.touched.length = 0;
    await cg.kill(ref, 'SIGKILL');
    assert.equal(await cg.waitEmpty(ref, 10_000), true);
    assert.deepEqual(await cg.pids(ref), []);
    await exited;
    return [...sys.touched];
  } finally {
    await cg.remove(ref).catch(() => undefined);
    await cg.removeParent(ref.parent).catch(() => undefined);
  }
}

describe('cgroups: kill everything and wait until empty', { skip: blocked }, () => {
  const tag = `berth-sig-${process.pid}`;

  it('v2: cgroup.kill kills forks too, cgroup.events reports the empty cgroup, cgroup.freeze freezes', async (t) => {
    if (!existsSync(path.join(UNIFIED, 'cgroup.procs'))) {
      skipped(t, 'no cgroup2 mount here');
      return;
    }
    const sys = tracingSys();
    const cg = new CgroupV2(sys, UNIFIED, []);
    const ref = { parent: tag, name: 'v2' };
    await cg.create(ref, {}, 'all');
    try {
      const { sh } = await populate(cg.procsFiles(ref));
      assert.ok(await until(async () => (await cg.pids(ref)).length === 3));
      await cg.freeze(ref);
      assert.equal(await cg.isFrozen(ref), true);
      assert.ok(sys.touched.includes('wait cgroup.events'), 'the freeze is awaited on cgroup.events');
      await cg.thaw(ref);
      assert.equal(await cg.isFrozen(ref), false);
      assert.ok(alive(sh.pid!));
    } finally {
      await cg.kill(ref, 'SIGKILL');
      await cg.waitEmpty(ref, 5000);
      await cg.remove(ref);
    }
    const used = await exercise(cg, { parent: tag, name: 'v2b' }, sys);
    assert.ok(used.includes('write cgroup.kill'), used.join(', '));
    assert.ok(used.includes('wait cgroup.events'), used.join(', '));
    assert.ok(
      !used.includes('read cgroup.procs') ||
        used.indexOf('read cgroup.procs') > used.indexOf('wait cgroup.events'),
    );
  });

  it('v1 hybrid: the container joins the unified tree, so the same kernel path kills and waits', async (t) => {
    const mounts = v1Hierarchies(await hostSys.mounts());
    if (!mounts.size || !existsSync(UNIFIED)) {
      skipped(t, 'not a v1 hybrid host');
      return;
    }
    mounts.set('unified', UNIFIED);
    const sys = tracingSys();
    const used = await exercise(new CgroupV1(sys, mounts, undefined), { parent: tag, name: 'hy' }, sys);
    assert.ok(used.includes('write cgroup.kill'), used.join(', '));
  });

  it('pure v1: every member is signalled and cgroup.procs is polled until empty', async (t) => {
    const mounts = v1Hierarchies(await hostSys.mounts());
    if (!mounts.size) {
      skipped(t, 'no cgroup v1 hierarchies here');
      return;
    }
    mounts.delete('unified');
    const sys = tracingSys();
    const used = await exercise(new CgroupV1(sys, mounts, undefined), { parent: tag, name: 'v1' }, sys);
    assert.ok(!used.some((u) => u.includes('cgroup.kill') || u.includes('cgroup.events')), used.join(', '));
    assert.ok(used.includes('read cgroup.procs'));
  });
});

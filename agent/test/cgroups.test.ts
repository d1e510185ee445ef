/** cgroup drivers against a recording fake (DESIGN example 5). v2 cannot be mounted for real on this v1 host
 *  (the controllers are bound to v1), so its file writes are checked here; v1 runs for real in runtime-*.test. */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { v1Hierarchies } from '../src/cgroups/detect.js';
import { parseSystemCpuUsage } from '../src/cgroups/types.js';
import { CgroupV1 } from '../src/cgroups/v1.js';
import { CgroupV2, parseIoStat, sharesToWeight } from '../src/cgroups/v2.js';
import { parseMountInfo } from '../src/sys/sys.js';
import { RecordingSys } from '../src/sys/recording.js';

async function fakeRoot(): Promise<RecordingSys> {
  return new RecordingSys(await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-cg-')));
}

describe('cgroup v2 driver', () => {
  it('delegates controllers down the parent chain and writes v2 files for Docker resources', async () => {
    const sys = await fakeRoot();
    await sys.writeFile('/cg/cgroup.subtree_control', 'cpu');
    const cg = new CgroupV2(sys, '/cg', ['cpuset', 'cpu', 'io', 'memory', 'pids']);
    const ref = { parent: 'berth/test', name: 'c1' };
    await sys.writeFile('/cg/berth/test/c1/memory.swap.max', 'max');
    await sys.writeFile('/cg/berth/test/c1/io.weight', 'default 100');
    sys.calls.length = 0;
    await cg.create(
      ref,
      {
        memory: 64 << 20,
        cpuShares: 512,
        cpuQuota: 150000,
        cpuPeriod: 100000,
        pidsLimit: 50,
        cpusetCpus: '0',
        blkioWeight: 500,
      },
      [],
    );
    const w = Object.fromEntries(sys.writes().map((x) => [x.path, x.data]));
    assert.equal(
      w['/cg/cgroup.subtree_control'],
      '+cpuset +io +memory +pids',
      'only the missing controllers',
    );
    assert.equal(w['/cg/berth/cgroup.subtree_control'], '+cpuset +cpu +io +memory +pids');
    assert.equal(w['/cg/berth/test/cgroup.subtree_control'], '+cpuset +cpu +io +memory +pids');
    assert.equal(
      w['/cg/berth/test/c1/cgroup.subtree_control'],
      undefined,
      'the leaf holds processes, not children',
    );
    assert.equal(w['/cg/berth/test/c1/memory.max'], String(64 << 20));
    assert.equal(
      w['/cg/berth/test/c1/memory.swap.max'],
      String(64 << 20),
      'default swap = memory, as Docker (2x total)',
    );
    assert.equal(w['/cg/berth/test/c1/cpu.weight'], String(sharesToWeight(512)));
    assert.equal(w['/cg/berth/test/c1/cpu.max'], '150000 100000');
    assert.equal(w['/cg/berth/test/c1/pids.max'], '50');
    assert.equal(w['/cg/berth/test/c1/cpuset.cpus'], '0');
    assert.equal(w['/cg/berth/test/c1/io.weight'], 'default 4950');
    assert.deepEqual(cg.procsFiles(ref), ['/cg/berth/test/c1/cgroup.procs']);
    assert.equal(cg.oomEventsFile(ref), '/cg/berth/test/c1/memory.events');
  });
  it('maps unlimited values to "max" and freezes through cgroup.freeze', async () => {
    const sys = await fakeRoot();
    const cg = new CgroupV2(sys, '/cg', ['memory', 'pids', 'cpu']);
    const ref = { parent: 'b', name: 'c' };
    await sys.writeFile('/cg/b/c/cgroup.events', 'populated 1\nfrozen 1\n');
    await cg.update(ref, { memory: 0, pidsLimit: -1, cpuQuota: 0 });
    await cg.freeze(ref);
    const w = Object.fromEntries(sys.writes().map((x) => [x.path, x.data]));
    assert.equal(w['/cg/b/c/memory.max'], 'max');
    assert.equal(w['/cg/b/c/pids.max'], 'max');
    assert.equal(w['/cg/b/c/cpu.max'], 'max 100000');
    assert.equal(w['/cg/b/c/cgroup.freeze'], '1');
    assert.equal(await cg.isFrozen(ref), true);
  });
  it('reads v2 stats into the runtime shape', async () => {
    const sys = await fakeRoot();
    const cg = new CgroupV2(sys, '/cg', ['memory', 'pids', 'cpu', 'io']);
    const ref = { parent: 'b', name: 'c' };
    await sys.writeFile('/proc/stat', 'cpu  1 1 1 1 1 1 1\ncpu0 1\n');
    await sys.writeFile('/proc/meminfo', 'MemTotal: 1000 kB\n');
    await sys.writeFile(
      '/cg/b/c/cpu.stat',
      'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n',
    );
    await sys.writeFile('/cg/b/c/memory.current', '4096\n');
    await sys.writeFile('/cg/b/c/memory.max', '8192\n');
    await sys.writeFile('/cg/b/c/memory.stat', 'anon 100\nfile 200\n');
    await sys.writeFile('/cg/b/c/pids.current', '3\n');
    await sys.writeFile('/cg/b/c/pids.max', 'max\n');
    await sys.writeFile('/cg/b/c/io.stat', '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
    const st = await cg.stats(ref);
    assert.equal(st.cpu.totalUsage, 2_000_000);
    assert.equal(st.cpu.usageInUsermode, 1_500_000);
    assert.equal(st.cpu.throttling.throttledTime, 7000);
    assert.equal(st.memory.usage, 4096);
    assert.equal(st.memory.limit, 8192);
    assert.equal(st.memory.stats.file, 200);
    assert.deepEqual(st.pids, { current: 3 });
    assert.deepEqual(st.blkio.ioServiceBytesRecursive, [
      { major: 8, minor: 0, op: 'read', value: 10 },
      { major: 8, minor: 0, op: 'write', value: 20 },
    ]);
  });
});

describe('cgroup v1 driver', () => {
  it('copies cpuset down to new cgroups, raises memsw before memory, and joins every hierarchy', async () => {
    const sys = await fakeRoot();
    for (const f of ['cpuset.cpus', 'cpuset.mems'])
      await sys.writeFile(`/cg/cpuset/${f}`, f.endsWith('cpus') ? '0-3\n' : '0\n');
    for (const d of ['/cg/cpuset/b', '/cg/cpuset/b/c'])
      for (const f of ['cpuset.cpus', 'cpuset.mems']) await sys.writeFile(`${d}/${f}`, '');
    await sys.writeFile('/cg/memory/b/c/memory.limit_in_bytes', '9223372036854771712');
    await sys.writeFile('/cg/memory/b/c/memory.memsw.limit_in_bytes', '9223372036854771712');
    const mounts = new Map([
      ['cpuset', '/cg/cpuset'],
      ['memory', '/cg/memory'],
      ['cpu', '/cg/cpu,cpuacct'],
      ['cpuacct', '/cg/cpu,cpuacct'],
    ]);
    const cg = new CgroupV1(sys, mounts, undefined);
    sys.calls.length = 0;
    await cg.create({ parent: 'b', name: 'c' }, { memory: 1 << 20, cpuShares: 100 }, []);
    const writes = sys.writes();
    assert.deepEqual(
      writes.filter((w) => w.path.startsWith('/cg/cpuset')).map((w) => `${w.path}=${w.data}`),
      [
        '/cg/cpuset/b/cpuset.cpus=0-3',
        '/cg/cpuset/b/cpuset.mems=0',
        '/cg/cpuset/b/c/cpuset.cpus=0-3',
        '/cg/cpuset/b/c/cpuset.mems=0',
      ],
    );
    const mem = writes.filter((w) => w.path.startsWith('/cg/memory')).map((w) => path.basename(w.path));
    assert.deepEqual(
      mem,
      ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'],
      'lowering: memory first, then memsw',
    );
    assert.equal(writes.find((w) => w.path.endsWith('cpu.shares'))?.path, '/cg/cpu,cpuacct/b/c/cpu.shares');
    assert.deepEqual(cg.procsFiles({ parent: 'b', name: 'c' }).sort(), [
      '/cg/cpu,cpuacct/b/c/cgroup.procs',
      '/cg/cpuset/b/c/cgroup.procs',
      '/cg/memory/b/c/cgroup.procs',
    ]);
    assert.deepEqual(cg.info().warnings, ['Your kernel does not support cgroup blkio weight']);
  });
  it('finds v1 hierarchies in the hybrid layout and ignores the controller-less cgroup2 mount', () => {
    const mi = parseMountInfo(
      [
        '30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
        '32 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
        '33 25 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      ].join('\n'),
    );
    const h = v1Hierarchies(mi);
    assert.deepEqual([...h.entries()].sort(), [
      ['cpu', '/sys/fs/cgroup/cpu,cpuacct'],
      ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct'],
      ['memory', '/sys/fs/cgroup/memory'],
    ]);
  });
  it('parses host CPU time and io.stat', () => {
    assert.deepEqual(parseSystemCpuUsage('cpu  1 2 3 4 5 6 7 8\ncpu0 1\ncpu1 1\n'), {
      systemCpuUsage: 28e7,
      onlineCpus: 2,
    });
    assert.equal(parseIoStat('').ioServicedRecursive.length, 0);
  });
});

/** Runs the eBPF subset device-bpf.ts emits against a bpf_cgroup_dev_ctx. */
function runDeviceFilter(
  prog: Buffer,
  type: 'c' | 'b',
  access: string,
  major: number,
  minor: number,
): number {
  const acc = [...access].reduce((m, c) => m | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c], 0);
  const ctx = [(acc << 16) | (type === 'b' ? 1 : 2), major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt8(pc * 8);
    const dst = prog.readUInt8(pc * 8 + 1) & 0xf;
    const src = prog.readUInt8(pc * 8 + 1) >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4);
    if (code === 0x61) r[dst] = ctx[off / 4]!;
    else if (code === 0x57) r[dst] = r[dst] & imm;
    else if (code === 0x77) r[dst] = r[dst] >>> imm;
    else if (code === 0xb7) r[dst] = imm;
    else if (code === 0xbf) r[dst] = r[src]!;
    else if (code === 0x55) pc += r[dst] !== imm ? off : 0;
    else if (code === 0x95) return r[0];
    else throw new Error(`unexpected opcode ${code}`);
  }
  throw new Error('fell off the end');
}

describe('cgroup v2 device filter (eBPF)', () => {
  it("allows exactly Docker's default devices, and mknod of anything", async () => {
    const { compileDeviceFilter } = await import('../src/cgroups/device-bpf.js');
    const { DEFAULT_DEVICE_RULES } = await import('../src/cgroups/types.js');
    const prog = compileDeviceFilter(DEFAULT_DEVICE_RULES);
    assert.equal(runDeviceFilter(prog, 'c', 'rw', 1, 3), 1, '/dev/null');
    assert.equal(runDeviceFilter(prog, 'c', 'rw', 136, 7), 1, 'a pty');
    assert.equal(runDeviceFilter(prog, 'b', 'm', 8, 0), 1, 'mknod of a disk');
    assert.equal(runDeviceFilter(prog, 'b', 'r', 8, 0), 0, 'reading a disk');
    assert.equal(runDeviceFilter(prog, 'c', 'r', 1, 1), 0, '/dev/mem');
    const extra = compileDeviceFilter([
      ...DEFAULT_DEVICE_RULES,
      { type: 'c', major: 10, minor: 229, access: 'r' },
    ]);
    assert.equal(runDeviceFilter(extra, 'c', 'r', 10, 229), 1, '--device /dev/fuse:r');
    assert.equal(runDeviceFilter(extra, 'c', 'rw', 10, 229), 0, 'but not for writing');
    assert.equal(
      runDeviceFilter(
        compileDeviceFilter([{ type: 'a', major: -1, minor: -1, access: 'rwm' }]),
        'b',
        'rw',
        8,
        0,
      ),
      1,
    );
  });
});

/** Policy units (no kernel): the seccomp program, capability arithmetic, the op list handed to the helper. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capMask, mergeCaps } from '../src/runtime/caps.js';
import { compileCreateOps, compileExecOps, opLine } from '../src/runtime/ops.js';
import { clampOomScore, hasSysResource, inInitialUserNs } from '../src/runtime/oom-score.js';
import { compileSeccomp } from '../src/runtime/seccomp/bpf.js';
import { SYSCALLS_AARCH64 } from '../src/runtime/seccomp/syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from '../src/runtime/seccomp/syscalls-x86_64.js';
import {
  DOCKER_DEFAULT_CAPS,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  type RuntimeSpec,
} from '../src/runtime/types.js';

/** A classic-BPF interpreter for the instructions bpf.ts emits, run against a fake seccomp_data. */
function runFilter(prog: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(a, 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = data.readUInt32LE(k);
    else if (code === 0x54) acc = (acc & k) >>> 0;
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x35) pc += acc >= k ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`unexpected opcode ${code}`);
  }
  throw new Error('fell off the end of the program');
}

const X86 = 0xc000003e;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const nr = (name: string): number => SYSCALLS_X86_64[name];

describe('seccomp program (Docker default profile)', () => {
  const prog = compileSeccomp([...DOCKER_DEFAULT_CAPS], 'x86_64');
  it('allows the ordinary syscalls and refuses the dangerous ones with EPERM', () => {
    for (const s of ['read', 'write', 'openat', 'execve', 'clone', 'exit_group', 'arch_prctl', 'setuid']) {
      assert.equal(runFilter(prog, X86, nr(s)), ALLOW, s);
    }
    for (const s of [
      'mount',
      'unshare',
      'setns',
      'kexec_load',
      'reboot',
      'bpf',
      'kcmp',
      'keyctl',
      'init_module',
    ]) {
      assert.equal(runFilter(prog, X86, nr(s)), EPERM, s);
    }
  });
  it('checks arguments: namespace flags on clone, AF_VSOCK sockets, personality values', () => {
    assert.equal(runFilter(prog, X86, nr('clone'), [0x11n]), ALLOW);
    assert.equal(runFilter(prog, X86, nr('clone'), [0x20000000n | 0x11n]), EPERM, 'CLONE_NEWPID refused');
    assert.equal(runFilter(prog, X86, nr('clone3')), ENOSYS, 'clone3 answers ENOSYS so libc falls back');
    assert.equal(runFilter(prog, X86, nr('socket'), [2n]), ALLOW);
    assert.equal(runFilter(prog, X86, nr('socket'), [40n]), EPERM);
    assert.equal(runFilter(prog, X86, nr('personality'), [8n]), ALLOW);
    assert.equal(runFilter(prog, X86, nr('personality'), [0xffffffffn]), ALLOW);
    assert.equal(runFilter(prog, X86, nr('personality'), [0x1000n]), EPERM);
  });
  it('refuses foreign ABIs (x32 numbers, other architectures)', () => {
    assert.equal(runFilter(prog, X86, 0x40000000 + nr('read')), EPERM);
    assert.equal(runFilter(prog, 0x40000003 /* i386 */, 3), EPERM);
  });
  it('unlocks syscalls with capabilities, as Docker', () => {
    const admin = compileSeccomp([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], 'x86_64');
    assert.equal(runFilter(admin, X86, nr('mount')), ALLOW);
    assert.equal(runFilter(admin, X86, nr('clone'), [0x20000000n]), ALLOW);
    assert.equal(runFilter(admin, X86, nr('clone3')), ALLOW);
    assert.equal(runFilter(admin, X86, nr('ptrace')), ALLOW);
  });
  it('compiles for aarch64 with its own numbering', () => {
    const arm = compileSeccomp([...DOCKER_DEFAULT_CAPS], 'aarch64');
    assert.equal(runFilter(arm, 0xc00000b7, SYSCALLS_AARCH64.openat), ALLOW);
    assert.equal(runFilter(arm, 0xc00000b7, SYSCALLS_AARCH64.mount), EPERM);
    assert.equal(runFilter(arm, X86, SYSCALLS_AARCH64.openat), EPERM);
  });
});

describe('capabilities', () => {
  it("maps Docker's default set to the kernel's bits", () => {
    assert.equal(capMask(DOCKER_DEFAULT_CAPS).toString(16), 'a80425fb');
  });
  it('applies --cap-add / --cap-drop including ALL', () => {
    assert.deepEqual(mergeCaps(['CAP_CHOWN', 'CAP_KILL'], ['net_admin'], ['KILL']), [
      'CAP_CHOWN',
      'CAP_NET_ADMIN',
    ]);
    assert.deepEqual(mergeCaps(DOCKER_DEFAULT_CAPS, ['NET_BIND_SERVICE'], ['ALL']), ['CAP_NET_BIND_SERVICE']);
    assert.ok(mergeCaps(DOCKER_DEFAULT_CAPS, ['ALL'], []).includes('CAP_SYS_ADMIN'));
    assert.throws(() => mergeCaps([], ['CAP_NOPE'], []), /unknown capability/);
  });
});

function spec(over: Partial<RuntimeSpec> = {}): RuntimeSpec {
  return {
    id: 'c1',
    rootfs: {
      kind: 'overlay',
      lowerDirs: ['/l/2', '/l/1'],
      upperDir: '/c/upper',
      workDir: '/c/work',
      target: '/c/merged',
    },
    readonlyRootfs: false,
    hostname: 'h',
    process: {
      args: ['sh'],
      env: ['A=b\tc'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      terminal: false,
      openStdin: false,
      stdinOnce: false,
      capabilities: [...DOCKER_DEFAULT_CAPS],
      noNewPrivileges: true,
      rlimits: [{ type: 'nofile', soft: 1024, hard: 2048 }],
      init: false,
    },
    mounts: [],
    namespaces: {
      pid: { mode: 'new' },
      net: { mode: 'join', path: '/run/netns/x' },
      ipc: { mode: 'new' },
      uts: { mode: 'new' },
      cgroup: { mode: 'new' },
      mnt: { mode: 'new' },
    },
    cgroup: { parent: 'berth', resources: {} },
    maskedPaths: [...DOCKER_MASKED_PATHS],
    readonlyPaths: [...DOCKER_READONLY_PATHS],
    sysctls: {},
    shmSize: 1 << 20,
    devices: [],
    privileged: false,
    seccomp: 'default',
    log: { path: '/c/log', maxSize: 0, maxFile: 1 },
    ...over,
  };
}

describe('op list for the native helper', () => {
  const ctx = { shimPath: '/shim', cgroupProcs: ['/cg/a/cgroup.procs'], cgroupVersion: 1 as const };
  const ops = (s: RuntimeSpec) =>
    compileCreateOps(s, ctx)
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
  it('escapes fields so no value can inject an op', () => {
    assert.equal(opLine(['env', 'A=1\nargs\tx\\']), 'env\tA=1\\nargs\\tx\\\\');
  });
  it('mounts the overlay with the layers in order, joins the given netns, masks and protects Docker paths', () => {
    const o = ops(spec());
    assert.deepEqual(
      o.find((f) => f[0] === 'overlay'),
      ['overlay', '/c/merged', '/c/upper', '/c/work', '/l', '2', '1'],
    );
    assert.deepEqual(
      o.find((f) => f[0] === 'nsjoin'),
      ['nsjoin', 'net', '/run/netns/x'],
    );
    assert.equal(
      o.filter((f) => f[0] === 'lo').length,
      0,
      'a joined netns is configured by the network, not us',
    );
    const names = o.map((f) => f[0]);
    assert.ok(
      names.indexOf('pivot') < names.indexOf('mask') && names.indexOf('pivot') > names.indexOf('rmount'),
    );
    assert.deepEqual(
      o.filter((f) => f[0] === 'mask').map((f) => f[1]),
      [...DOCKER_MASKED_PATHS],
    );
    assert.deepEqual(
      o.find((f) => f[0] === 'rlimit'),
      ['rlimit', '7', '1024', '2048'],
    );
    assert.ok(o.some((f) => f[0] === 'seccomp'));
  });
  it('privileged drops masks, seccomp and device restrictions and grants every capability', () => {
    const o = ops(spec({ privileged: true }));
    assert.equal(o.filter((f) => f[0] === 'mask' || f[0] === 'ropath' || f[0] === 'seccomp').length, 0);
    assert.ok(o.some((f) => f[0] === 'rmount' && f[1] === '/dev' && f[2] === '/dev'));
    const caps = o.find((f) => f[0] === 'caps')!;
    assert.equal(caps[1], ((1n << 41n) - 1n).toString(16));
  });
  it('a non-root user keeps only the bounding set', () => {
    const s = spec();
    s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 6] };
    const o = ops(s);
    assert.deepEqual(
      o.find((f) => f[0] === 'user'),
      ['user', '1000', '1000', '5,6'],
    );
    assert.deepEqual(
      o.find((f) => f[0] === 'caps'),
      ['caps', 'a80425fb', '0', '0'],
    );
  });
  it('refuses to share the host mount namespace and unknown ulimits', () => {
    const s = spec();
    s.namespaces.mnt = { mode: 'host' };
    assert.throws(() => compileCreateOps(s, ctx), /own mount namespace/);
    const t = spec();
    t.process.rlimits = [{ type: 'bogus', soft: 1, hard: 1 }];
    assert.throws(() => compileCreateOps(t, ctx), /invalid ulimit type/);
  });
  it("joins another container's namespaces given as /proc/<pid>/ns", () => {
    const s = spec();
    s.namespaces.ipc = { mode: 'join', path: '/proc/77/ns' };
    s.namespaces.pid = { mode: 'join', path: '/proc/77/ns/' };
    const joins = ops(s).filter((f) => f[0] === 'nsjoin');
    assert.deepEqual(joins, [
      ['nsjoin', 'pid', '/proc/77/ns/pid'],
      ['nsjoin', 'net', '/run/netns/x'],
      ['nsjoin', 'ipc', '/proc/77/ns/ipc'],
    ]);
  });
  it('refuses cgroup parents that would leave the hierarchy', async () => {
    const { checkCgroupRef } = await import('../src/cgroups/types.js');
    assert.deepEqual(checkCgroupRef({ parent: '/berth/sub/', name: 'c1' }), {
      parent: 'berth/sub',
      name: 'c1',
    });
    for (const parent of ['../../etc', 'a/../..', 'a//b', 'a b'])
      assert.throws(() => checkCgroupRef({ parent, name: 'c' }), /invalid cgroup parent/);
    assert.throws(() => checkCgroupRef({ parent: 'ok', name: '..' }), /invalid cgroup parent/);
  });
  it('exec ops enter the target pid and its cgroups', () => {
    const text = compileExecOps(
      42,
      {
        args: ['ls'],
        env: [],
        cwd: '/',
        user: { uid: 0, gid: 0, additionalGids: [] },
        terminal: true,
        capabilities: [],
        noNewPrivileges: false,
        privileged: false,
        seccomp: 'unconfined',
        consoleSize: { rows: 5, cols: 6 },
      },
      ['/cg/x'],
      -997,
    );
    assert.match(text, /^pid\t42\nterminal\t1\nconsolesize\t5\t6\ncgroupprocs\t\/cg\/x\noomscore\t-997\n/);
    assert.doesNotMatch(text, /seccomp/);
  });
  it("oom_score_adj: exact with CAP_SYS_RESOURCE in the initial user namespace, else no lower than berthd's", () => {
    // CapEff of root with every capability (kernel 6.x), and the same without bit 24 (as this CI sandbox).
    assert.equal(hasSysResource('Name:\tx\nCapEff:\t000001ffffffffff\nCapBnd:\t0\n'), true);
    assert.equal(hasSysResource('CapPrm:\t000001ffffffffff\nCapEff:\t000001fffeffffff\n'), false);
    assert.equal(hasSysResource('CapEff:\t0000000001000000\n'), true);
    assert.equal(hasSysResource('no capability lines'), false);
    assert.equal(inInitialUserNs('         0          0 4294967295\n'), true);
    assert.equal(
      inInitialUserNs('         0       1000          1\n         1     100000      65536\n'),
      false,
    );
    assert.equal(inInitialUserNs('         0     100000      65536\n'), false);
    assert.equal(clampOomScore(-998, undefined), -998);
    assert.equal(clampOomScore(-998, 0), 0);
    assert.equal(clampOomScore(0, 200), 200, 'a session at 200 (systemd >= 250) raises even the default 0');
    assert.equal(clampOomScore(500, 200), 500);
  });
});

describe('per-daemon runtime options', () => {
  it('keeps the default daemon on "berth" and gives every other data root its own cgroup parent and state root', async () => {
    const { runtimeOptionsFor } = await import('../src/runtime/index.js');
    assert.deepEqual(runtimeOptionsFor({ dataRoot: '/var/lib/berth' }), {
      stateRoot: '/run/berth/runtime',
      cgroupParent: 'berth',
    });
    const a = runtimeOptionsFor({ dataRoot: '/tmp/a' });
    const b = runtimeOptionsFor({ dataRoot: '/tmp/b' });
    assert.notEqual(a.cgroupParent, b.cgroupParent);
    assert.notEqual(a.stateRoot, b.stateRoot);
    assert.ok(`${a.stateRoot}/${'f'.repeat(64)}/shim.sock`.length < 108, 'shim socket paths fit in sun_path');
    assert.deepEqual(runtimeOptionsFor({ dataRoot: '/tmp/a', cgroupParent: 'x/y', execRoot: '/run/x' }), {
      stateRoot: '/run/x',
      cgroupParent: 'x/y',
    });
  });
});

describe('network counters', () => {
  it('parses /proc/<pid>/net/dev without lo', async () => {
    const { parseNetDev } = await import('../src/runtime/state.js');
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
      '  eth0:    1500      10    1    2    0     0          0         0     3000      20    3    4    0     0       0          0',
    ].join('\n');
    assert.deepEqual(parseNetDev(text), {
      eth0: {
        rxBytes: 1500,
        rxPackets: 10,
        rxErrors: 1,
        rxDropped: 2,
        txBytes: 3000,
        txPackets: 20,
        txErrors: 3,
        txDropped: 4,
      },
    });
  });
});

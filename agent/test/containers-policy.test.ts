/** Pure container policy: image merge rules, mount specs, state guards, restart decisions, detach keys, paths. */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { statusOf } from '../src/api/errors.js';
import {
  mergeEnv,
  mergeWithImage,
  validateCreateBody,
  validateResources,
  validateRestartPolicy,
} from '../src/containers/create-config.js';
import { applyChanges } from '../src/containers/commit.js';
import { parseBind, parseMountSpec, parseTmpfs, planMounts } from '../src/containers/mounts.js';
import { shouldRestart, shouldRestartOnBoot, Backoff } from '../src/containers/restart-policy.js';
import { ConfinedRoot } from '../src/containers/confined-root.js';
import { capabilities } from '../src/containers/spec.js';
import {
  canKill,
  canRemove,
  canStart,
  humanDuration,
  initialState,
  Status,
} from '../src/containers/state.js';
import { DetachScanner, frame, parseDetachKeys } from '../src/containers/stdio.js';
import { parseBytes, parseSignal } from '../src/containers/units.js';
import { filterPs } from '../src/containers/top.js';

const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    return statusOf(err);
  }
  return 0;
};

describe('container create config', () => {
  const img = {
    Env: ['PATH=/bin', 'A=img', 'B=img'],
    Cmd: ['sh'],
    Entrypoint: null,
    WorkingDir: '/w',
    Labels: { l: 'img' },
  };
  it('merges env by key, keeps image workdir and labels, defaults the hostname to the short id', () => {
    // As dockerd orders Config.Env (seen with Debian's docker.io 20.10: ["FOO","BAR=1","PATH=..."] for Env
    // ["FOO","BAR=1"] on busybox): the request's entries first, `NOVALUE` kept, then the image's other names.
    const m = mergeWithImage(
      { Image: 'x', Env: ['B=run', 'C=run', 'NOVALUE'], Labels: { r: '1' } },
      img,
      'abcdef0123456789',
    );
    assert.deepEqual(m.config.Env, ['B=run', 'C=run', 'NOVALUE', 'PATH=/bin', 'A=img']);
    assert.equal(m.config.WorkingDir, '/w');
    assert.deepEqual(m.config.Labels, { l: 'img', r: '1' });
    assert.equal(m.config.Hostname, 'abcdef012345');
    assert.equal(m.path, 'sh');
  });
  it('combines entrypoint and cmd as Docker: an explicit entrypoint drops the image cmd', () => {
    const withEp = { ...img, Entrypoint: ['/ep'], Cmd: ['default'] };
    assert.deepEqual(
      [mergeWithImage({ Image: 'x' }, withEp, 'i').path, mergeWithImage({ Image: 'x' }, withEp, 'i').args],
      ['/ep', ['default']],
    );
    assert.deepEqual(mergeWithImage({ Image: 'x', Cmd: ['c'] }, withEp, 'i').args, ['c']);
    const ep = mergeWithImage({ Image: 'x', Entrypoint: ['echo'] }, withEp, 'i');
    assert.deepEqual([ep.path, ep.args], ['echo', []]);
    assert.equal(
      status(() => mergeWithImage({ Image: 'x' }, { Env: [] }, 'i')),
      400,
    );
    assert.equal(
      status(() => mergeWithImage({ Image: 'x', WorkingDir: 'rel' }, img, 'i')),
      400,
    );
  });
  it('checks body shapes and resources with dockerd wording', () => {
    assert.equal(
      status(() => validateCreateBody({ Image: 'x', Env: 'A=1' })),
      400,
    );
    assert.equal(
      status(() => validateCreateBody({ Image: 'x', HostConfig: { Memory: '1g' } })),
      400,
    );
    assert.equal(
      status(() => validateCreateBody([])),
      400,
    );
    assert.throws(() => validateResources({ Memory: 1024 }, []), /Minimum memory limit allowed is 6MB/);
    assert.throws(
      () => validateResources({ Memory: 64 << 20, MemorySwap: 32 << 20 }, []),
      /memoryswap limit should be larger/,
    );
    assert.throws(
      () => validateResources({ NanoCpus: 1e9, CpuQuota: 50000 }, []),
      /Nano CPUs and CPU Period/,
    );
    assert.throws(() => validateRestartPolicy({ Name: 'always' }, true), /AutoRemove/);
    assert.throws(() => validateRestartPolicy({ Name: 'sometimes' as 'always' }, false), /unknown policy/);
    assert.deepEqual(mergeEnv(['A=1'], ['A=2', 'B=3']), ['A=2', 'B=3']);
  });
  it('parses sizes and signals like the docker CLI and dockerd', () => {
    assert.equal(parseBytes('64m'), 64 << 20);
    assert.equal(parseBytes('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(
      status(() => parseBytes('lots')),
      400,
    );
    assert.equal(parseSignal('SIGTERM'), 15);
    assert.equal(parseSignal('kill'), 9);
    assert.equal(parseSignal('10'), 10);
    assert.equal(parseSignal('SIGRTMIN+3'), 37);
    assert.equal(
      status(() => parseSignal('SIGNOPE')),
      400,
    );
  });
  it('computes capabilities from adds and drops, including ALL', () => {
    const caps = capabilities({ CapAdd: ['NET_ADMIN'], CapDrop: ['chown'] });
    assert.ok(caps.includes('CAP_NET_ADMIN') && !caps.includes('CAP_CHOWN'));
    assert.deepEqual(capabilities({ CapDrop: ['ALL'], CapAdd: ['KILL'] }), ['CAP_KILL']);
    assert.equal(
      status(() => capabilities({ CapAdd: ['NOT_A_CAP'] })),
      400,
    );
  });
});

describe('mount specs', () => {
  it('parses -v forms: bind, named and anonymous volumes, options', () => {
    assert.deepEqual(
      { ...parseBind('/h:/c:ro,rshared') },
      {
        type: 'bind',
        source: '/h',
        destination: '/c',
        rw: false,
        mode: 'ro,rshared',
        propagation: 'rshared',
        createSource: true,
      },
    );
    const named = parseBind('data:/d:nocopy');
    assert.equal(named.name, 'data');
    assert.equal(named.noCopy, true);
    assert.equal(parseBind('/anon').anonymous, true);
    assert.throws(() => parseBind('data:rel'), /mount path must be absolute/);
    assert.throws(() => parseBind('/a:/b:bogus'), /invalid mode/);
    assert.throws(() => parseBind('bad/name:/x'), /includes invalid characters/);
  });
  it('validates --mount like dockerd', () => {
    assert.throws(
      () => parseMountSpec({ Type: 'bind', Source: '/definitely/not/here', Target: '/x' }),
      /bind source path does not exist: \/definitely\/not\/here/,
    );
    assert.throws(
      () => parseMountSpec({ Type: 'tmpfs', Source: 'x', Target: '/x' }),
      /field Source must not be specified/,
    );
    assert.throws(() => parseMountSpec({ Type: 'volume', Target: '' }), /field Target must not be empty/);
    assert.throws(() => parseMountSpec({ Type: 'npipe', Target: '/x' }), /mount type unknown/);
  });
  it('parses --tmpfs options and plans image VOLUMEs not covered by mounts', () => {
    const t = parseTmpfs('/run', 'size=1m,mode=1770,exec');
    assert.deepEqual(t.tmpfs, { size: 1 << 20, mode: 0o1770, options: ['nosuid', 'nodev'] });
    assert.throws(() => parseTmpfs('/run', 'size=huge'), /invalid tmpfs size/);
    const plan = planMounts({ Binds: ['/h:/data'] }, null, { '/data': {}, '/logs': {} });
    assert.deepEqual(
      plan.map((m) => [m.type, m.destination, m.anonymous ?? false]),
      [
        ['bind', '/data', false],
        ['volume', '/logs', true],
      ],
    );
    assert.throws(
      () => planMounts({ Binds: ['/a:/m'], Tmpfs: { '/m': '' } }, null, null),
      /Duplicate mount point: \/m/,
    );
  });
});

describe('state guards and restart policies', () => {
  it('guards lifecycle operations with dockerd wording', () => {
    const s = initialState();
    assert.equal(canStart(s, '/x'), 'ok');
    s.status = Status.Running;
    assert.equal(canStart(s, '/x'), 'noop');
    assert.throws(
      () => canRemove(s, '/x', false),
      /container is running: stop the container before removing or force remove/,
    );
    assert.doesNotThrow(() => canRemove(s, '/x', true));
    s.status = Status.Paused;
    assert.throws(() => canStart(s, '/x'), /try unpause/);
    s.status = Status.Exited;
    assert.throws(() => canKill(s, 'id'), /is not running/);
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(150_000), '2 minutes');
    assert.equal(humanDuration(500), 'Less than a second');
  });
  it('decides restarts as dockerd restartmanager, with backoff', () => {
    const base = { exitCode: 1, manuallyStopped: false, restartCount: 0 };
    assert.equal(shouldRestart({ ...base, policy: { Name: 'no' } }), false);
    assert.equal(shouldRestart({ ...base, policy: { Name: 'on-failure', MaximumRetryCount: 2 } }), true);
    assert.equal(
      shouldRestart({ ...base, restartCount: 2, policy: { Name: 'on-failure', MaximumRetryCount: 2 } }),
      false,
    );
    assert.equal(shouldRestart({ ...base, exitCode: 0, policy: { Name: 'on-failure' } }), false);
    assert.equal(shouldRestart({ ...base, manuallyStopped: true, policy: { Name: 'always' } }), false);
    assert.equal(shouldRestartOnBoot({ ...base, manuallyStopped: true, policy: { Name: 'always' } }), true);
    assert.equal(
      shouldRestartOnBoot({ ...base, manuallyStopped: true, policy: { Name: 'unless-stopped' } }),
      false,
    );
    const b = new Backoff();
    assert.deepEqual(
      [b.next('a', 0), b.next('a', 0), b.next('a', 0), b.next('a', 20_000)],
      [100, 200, 400, 100],
    );
  });
});

describe('stdio and paths', () => {
  it('frames output and swallows the detach sequence', () => {
    assert.deepEqual([...frame(2, Buffer.from('hi'))], [2, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
    assert.deepEqual(parseDetachKeys(null), [16, 17]);
    assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
    assert.throws(() => parseDetachKeys('ctrl-'), /Invalid detach keys/);
    const got: Buffer[] = [];
    let detached = 0;
    const sc = new DetachScanner([16, 17], { write: (b: Buffer) => got.push(b) } as never, () => detached++);
    sc.push(Buffer.from([97, 16]));
    sc.push(Buffer.from([98, 16, 17, 99]));
    assert.equal(Buffer.concat(got).toString('latin1'), 'a\x10b');
    assert.equal(detached, 1);
  });
  it('resolves paths inside a root: .. and symlinks never leave it', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'berth-root-'));
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/passwd'), 'x');
    symlinkSync('/', path.join(root, 'up'));
    symlinkSync('../../../../..', path.join(root, 'rel'));
    symlinkSync('/etc/passwd', path.join(root, 'pw'));
    symlinkSync('loop2', path.join(root, 'loop1'));
    symlinkSync('loop1', path.join(root, 'loop2'));
    const cr = ConfinedRoot.open(root);
    const resolveInRoot = (p: string, followLast = true): string => {
      const r = cr.resolve(p, followLast);
      r.release();
      return r.path;
    };
    try {
      assert.equal(resolveInRoot('/../../etc/passwd'), '/etc/passwd');
      assert.equal(resolveInRoot('/up/up/etc'), '/etc');
      assert.equal(resolveInRoot('/rel/etc/passwd'), '/etc/passwd');
      assert.equal(resolveInRoot('/pw'), '/etc/passwd');
      assert.equal(resolveInRoot('/pw', false), '/pw');
      assert.equal(resolveInRoot('/missing/../etc/x/y'), '/etc/x/y');
      assert.throws(() => resolveInRoot('/loop1/x'), /too many levels of symbolic links/);
      // The parent fd is the real directory: an entry named through it is the root's, not the host's.
      const r = cr.resolve('/up/etc/passwd', false);
      assert.equal(ConfinedRoot.lstat(r).size, 1);
      r.release();
    } finally {
      cr.close();
    }
  });
  it('applies commit --change instructions', () => {
    const c = applyChanges({ Env: ['A=1'], WorkingDir: '/a' }, [
      'CMD ["x", "y"]',
      'ENTRYPOINT run me',
      'ENV A=2 B="two words"',
      'LABEL k=v',
      'EXPOSE 80 53/udp',
      'WORKDIR b',
      'USER app',
      'VOLUME /data',
    ]);
    assert.deepEqual(c.Cmd, ['x', 'y']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', 'run me']);
    assert.deepEqual(c.Env, ['A=2', 'B=two words']);
    assert.deepEqual(c.Labels, { k: 'v' });
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '53/udp']);
    assert.equal(c.WorkingDir, '/a/b');
    assert.equal(c.User, 'app');
    assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data']);
    assert.throws(() => applyChanges({}, ['RUN rm -rf /']), /run is not a valid change command/);
  });
  it('filters ps output to the container pids, keeping commands with spaces', () => {
    const t = filterPs('UID PID PPID CMD\nroot 10 1 sleep 300\nroot 11 1 other thing\n', [10]);
    assert.deepEqual(t, {
      Titles: ['UID', 'PID', 'PPID', 'CMD'],
      Processes: [['root', '10', '1', 'sleep 300']],
    });
  });
});

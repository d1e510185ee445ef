/** Shared setup for the runtime's kernel tests: a busybox rootfs dir (no image needed), a runtime on its own
 *  state root and cgroup parent, a spec builder with Docker's defaults, and output helpers. */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { IS_ROOT, unmet } from './preconditions.js';
import { createRuntime } from '../src/runtime/index.js';
import {
  DOCKER_DEFAULT_CAPS,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  type Runtime,
  type RuntimeSpec,
} from '../src/runtime/types.js';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '';
export { IS_ROOT };

/** Why the kernel tests cannot run here, or undefined. Under CI=true a missing requirement is a failure. */
export function kernelTestsBlocked(): string | undefined {
  return (
    unmet(IS_ROOT, 'runtime tests need root') ||
    unmet(BUSYBOX !== '', 'busybox-static is not installed') ||
    undefined
  );
}

export async function buildBusyboxRootfs(dir: string): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/user'])
    await fsp.mkdir(path.join(dir, d), { recursive: true });
  await fsp.copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
  await fsp.chmod(path.join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  for (const a of applets) await fsp.symlink('busybox', path.join(dir, 'bin', a));
  await fsp.chmod(path.join(dir, 'tmp'), 0o1777);
  await fsp.writeFile(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n',
  );
  await fsp.writeFile(path.join(dir, 'etc/group'), 'root:x:0:\nuser:x:1000:\nextra:x:2000:user\n');
  await fsp.writeFile(path.join(dir, 'bin/not-exec'), '#!/bin/sh\necho no\n', { mode: 0o644 });
  return dir;
}

export type SpecOverrides = Partial<Omit<RuntimeSpec, 'process'>> & {
  process?: Partial<RuntimeSpec['process']>;
};

export interface Fixture {
  runtime: Runtime;
  root: string;
  rootfs: string;
  stateRoot: string;
  cgroupParent: string;
  spec(args: string[], over?: SpecOverrides): RuntimeSpec;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const tag = randomBytes(3).toString('hex');
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-rt-'));
  const rootfs = await buildBusyboxRootfs(path.join(root, 'rootfs'));
  const stateRoot = `/run/berth-t-${tag}`;
  const cgroupParent = `berth-t-${tag}`;
  const runtime = await createRuntime({ stateRoot, cgroupParent });
  let n = 0;
  return {
    runtime,
    root,
    rootfs,
    stateRoot,
    cgroupParent,
    spec(args, over = {}) {
      const id = `t${tag}${n++}`;
      const { process: proc, ...rest } = over;
      return {
        id,
        rootfs: { kind: 'dir', path: rootfs },
        readonlyRootfs: false,
        hostname: 'box',
        process: {
          args,
          env: [
            'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME=/root',
            'HOSTNAME=box',
          ],
          cwd: '/',
          user: { uid: 0, gid: 0, additionalGids: [] },
          terminal: false,
          openStdin: false,
          stdinOnce: false,
          capabilities: [...DOCKER_DEFAULT_CAPS],
          noNewPrivileges: true,
          rlimits: [],
          init: false,
          ...proc,
        },
        mounts: [],
        namespaces: {
          pid: { mode: 'new' },
          net: { mode: 'new' },
          ipc: { mode: 'new' },
          uts: { mode: 'new' },
          cgroup: { mode: 'new' },
          mnt: { mode: 'new' },
        },
        cgroup: { parent: cgroupParent, resources: {} },
        maskedPaths: [...DOCKER_MASKED_PATHS],
        readonlyPaths: [...DOCKER_READONLY_PATHS],
        sysctls: {},
        shmSize: 64 * 1024 * 1024,
        devices: [],
        privileged: false,
        seccomp: 'default',
        log: { path: path.join(root, 'logs', `${id}-json.log`), maxSize: 0, maxFile: 1 },
        ...rest,
      };
    },
    async cleanup() {
      for (const st of await runtime.list()) await runtime.delete(st.id).catch(() => undefined);
      await runtime.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

/** Splits Docker's multiplexed frames into stdout and stderr text. */
export function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    (buf[i] === 2 ? err : out).push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

export function collect(r: Readable | undefined): Promise<Buffer> {
  if (!r) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    r.on('data', (d: Buffer) => chunks.push(d));
    r.once('end', () => resolve(Buffer.concat(chunks)));
    r.once('close', () => resolve(Buffer.concat(chunks)));
    r.once('error', reject);
  });
}

/** create → attach stdout/stderr → start → wait: the `docker run` sequence. */
export async function run(
  fx: Fixture,
  spec: RuntimeSpec,
): Promise<{ stdout: string; stderr: string; exitCode: number; oomKilled: boolean }> {
  await fx.runtime.create(spec);
  try {
    const att = await fx.runtime.attach(spec.id, { stdin: false, stdout: true, stderr: true });
    const out = collect(att.output);
    await fx.runtime.start(spec.id);
    const exit = await fx.runtime.wait(spec.id);
    const { stdout, stderr } = demux(await out);
    return { stdout, stderr, exitCode: exit.exitCode, oomKilled: exit.oomKilled };
  } finally {
    await fx.runtime.delete(spec.id);
  }
}

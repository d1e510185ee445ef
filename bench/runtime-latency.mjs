#!/usr/bin/env node
// Runtime latency: berth's runtime (create→start→wait→delete of `true`, exec of `true`) against a bare
// `runc run` / `runc exec` on the same busybox rootfs, measured in the same run; plus the shim's RSS.
// Usage (root, after npm run build): node bench/runtime-latency.mjs [iterations]
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  symlinkSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createRuntime } = await import(path.join(repo, 'agent/dist/src/runtime/index.js'));
const { DOCKER_DEFAULT_CAPS, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } = await import(
  path.join(repo, 'agent/dist/src/runtime/types.js')
);

const N = Number(process.argv[2] ?? 30);
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync);
if (!busybox || process.getuid() !== 0) {
  console.error('needs root and busybox-static');
  process.exit(1);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
const rootfs = path.join(tmp, 'bundle/rootfs');
for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev'])
  mkdirSync(path.join(rootfs, d), { recursive: true });
copyFileSync(busybox, path.join(rootfs, 'bin/busybox'));
chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
for (const a of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n'))
  if (a && a !== 'busybox') symlinkSync('busybox', path.join(rootfs, 'bin', a));

const tag = randomBytes(3).toString('hex');
const rt = await createRuntime({ stateRoot: `/run/berth-bench-${tag}`, cgroupParent: `berth-bench-${tag}` });
let n = 0;
const spec = (args) => {
  const id = `bench${tag}${n++}`;
  return {
    id,
    rootfs: { kind: 'dir', path: rootfs },
    readonlyRootfs: false,
    hostname: 'bench',
    process: {
      args,
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      terminal: false,
      openStdin: false,
      stdinOnce: false,
      capabilities: [...DOCKER_DEFAULT_CAPS],
      noNewPrivileges: true,
      rlimits: [],
      init: false,
    },
    mounts: [],
    namespaces: Object.fromEntries(
      ['pid', 'net', 'ipc', 'uts', 'cgroup', 'mnt'].map((k) => [k, { mode: 'new' }]),
    ),
    cgroup: { parent: `berth-bench-${tag}`, resources: {} },
    maskedPaths: [...DOCKER_MASKED_PATHS],
    readonlyPaths: [...DOCKER_READONLY_PATHS],
    sysctls: {},
    shmSize: 64 << 20,
    devices: [],
    privileged: false,
    seccomp: 'default',
    log: { path: path.join(tmp, 'logs', `${id}.log`), maxSize: 0, maxFile: 1 },
  };
};
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (a) =>
  `median ${median(a).toFixed(1)} ms (min ${Math.min(...a).toFixed(1)}, max ${Math.max(...a).toFixed(1)})`;

// berth: the `docker run --rm` sequence at runtime level
const berthRun = [];
for (let i = 0; i < N; i++) {
  const s = spec(['true']);
  const t = performance.now();
  await rt.create(s);
  await rt.start(s.id);
  await rt.wait(s.id);
  await rt.delete(s.id);
  berthRun.push(performance.now() - t);
}
// berth exec into a running container
const sleeper = spec(['sleep', '1000']);
await rt.create(sleeper);
await rt.start(sleeper.id);
const berthExec = [];
for (let i = 0; i < N; i++) {
  const t = performance.now();
  const h = await rt.exec(sleeper.id, {
    args: ['true'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    terminal: false,
    capabilities: [...DOCKER_DEFAULT_CAPS],
    noNewPrivileges: true,
    privileged: false,
    seccomp: 'default',
  });
  h.stdin.end();
  h.stdout.resume();
  h.stderr?.resume();
  await h.exit;
  berthExec.push(performance.now() - t);
}
const shimPid = (await rt.state(sleeper.id)).shimPid;
const shimRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${shimPid}/status`, 'utf8'))[1]);
await rt.delete(sleeper.id);

// peer: bare runc on the same rootfs (its default spec: same namespaces, caps, masked paths; no seccomp)
let runcRun = [];
let runcExec = [];
const runc = ['/usr/sbin/runc', '/usr/bin/runc'].find(existsSync);
if (runc) {
  const bundle = path.join(tmp, 'bundle');
  execFileSync(runc, ['spec', '--bundle', bundle]);
  const cfg = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = ['true'];
  cfg.root.readonly = false;
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg));
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    spawnSync(runc, ['run', '--bundle', bundle, `runc-bench-${tag}-${i}`], { stdio: 'ignore' });
    runcRun.push(performance.now() - t);
  }
  cfg.process.args = ['sleep', '1000'];
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg));
  const cid = `runc-bench-${tag}-sleeper`;
  spawnSync(runc, ['run', '-d', '--bundle', bundle, cid], { stdio: 'ignore' });
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    spawnSync(runc, ['exec', cid, 'true'], { stdio: 'ignore' });
    runcExec.push(performance.now() - t);
  }
  spawnSync(runc, ['delete', '-f', cid], { stdio: 'ignore' });
}
rmSync(tmp, { recursive: true, force: true });
await rt.close();

console.log(`runtime run (create→start→wait→delete of true), ${N} runs`);
console.log(`  berth: ${fmt(berthRun)}`);
if (runcRun.length)
  console.log(
    `  runc run: ${fmt(runcRun)}   ratio berth/runc ${(median(berthRun) / median(runcRun)).toFixed(2)}`,
  );
console.log(`exec of true into a running container, ${N} runs`);
console.log(`  berth: ${fmt(berthExec)}`);
if (runcExec.length)
  console.log(
    `  runc exec: ${fmt(runcExec)}   ratio berth/runc ${(median(berthExec) / median(runcExec)).toFixed(2)}`,
  );
console.log(`berth-shim RSS per running container: ${(shimRss / 1024).toFixed(2)} MiB`);

/**
 * A test daemon with images ready to run: busybox (the fixtures' image, pulled through --registry-mirror
 * from a real local registry) and `berth-app`, busybox plus users/groups, a VOLUME with content, a workdir,
 * a stop signal and a healthcheck, for the create/merge rules.
 */
import { busyboxImage, busyboxLayer, DEFAULT_PATH } from '../fixtures/images.js';
import { layerFromEntries, makeManifest, type FileSpec } from '../fixtures/oci.js';
import { pushImage } from '../fixtures/push.js';
import { seedRegistry, type SeededRegistry } from '../fixtures/seed.js';
import { startTestDaemon, type DaemonOptions, type TestDaemon } from './daemon.js';

export interface ContainerTestEnv {
  d: TestDaemon;
  reg: SeededRegistry;
}

const f = (name: string, data: string, mode = 0o644, uid = 0, gid = 0): FileSpec => ({
  entry: { name, type: 'file', mode, uid, gid },
  data,
});
const dir = (name: string, mode = 0o755, uid = 0, gid = 0): FileSpec => ({
  entry: { name, type: 'dir', mode, uid, gid },
});

export function appImage() {
  const layer = layerFromEntries([
    f(
      'etc/passwd',
      'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
    ),
    f('etc/group', 'root:x:0:\nwww:x:33:\nstaff:x:50:app,www\napp:x:1000:\nnobody:x:65534:\n'),
    dir('home/app', 0o755, 1000, 1000),
    dir('data', 0o750, 1000, 1000),
    f('data/seed.txt', 'from image\n', 0o640, 1000, 1000),
    dir('srv'),
    f('srv/hello.txt', 'hello\n'),
  ]);
  return makeManifest({
    format: 'docker',
    layers: [busyboxLayer(), layer],
    config: {
      Env: [DEFAULT_PATH, 'APP_MODE=image', 'KEEP=1'],
      Cmd: ['sh'],
      WorkingDir: '/srv',
      Volumes: { '/data': {} },
      Labels: { 'org.berth.test': 'app' },
      StopSignal: 'SIGUSR1',
    },
  });
}

export async function startContainerDaemon(opts: DaemonOptions = {}): Promise<ContainerTestEnv> {
  const reg = await seedRegistry();
  // The mirror serves docker.io names, so `busybox` is library/busybox there.
  await pushImage(reg.host, 'library/busybox', 'latest', busyboxImage('docker'));
  await pushImage(reg.host, 'library/berth-app', 'latest', appImage());
  const d = await startTestDaemon({ ...opts, args: ['--registry-mirror', reg.url, ...(opts.args ?? [])] });
  for (const img of ['busybox', 'berth-app']) {
    const p = await d.docker(['pull', '-q', img]);
    if (p.code !== 0) throw new Error(`pull ${img}: ${p.stderr}`);
  }
  return { d, reg };
}

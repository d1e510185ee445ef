/**
 * The kubelet runtime's streams and security settings against a real berthd: logs as `kubectl logs` asks for them
 * (previous, tail, timestamps, limitBytes, a 1 MiB line), exec with stdin and exit codes, port-forward to an app
 * bound to the pod's loopback, securityContext in the running process, and stats. Pod network: a random /24 of
 * 10.214.0.0/16.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { PodInputs } from '@berth/kube/kubelet/inputs';
import { EngineRuntime } from '@berth/kube/kubelet/runtime';
import type { Pod } from '@berth/kube/kubelet/types';
import { startContainerDaemon, type ContainerTestEnv } from '../helpers/container-daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { until } from '../helpers/kube-cluster.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const NET = `kpods-s-${process.pid}`;
const SUBNET = `10.214.${Math.floor(Math.random() * 250) + 1}.0/24`;
const inputs: PodInputs = { configMaps: {}, secrets: {} };

let n = 0;
function pod(name: string, spec: Pod['spec']): Pod {
  return {
    metadata: { name, namespace: 'default', uid: `suid-${process.pid}-${++n}` },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 2, ...spec } as Pod['spec'],
  };
}

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

describe('kubelet runtime streams over berthd', { skip }, () => {
  let env: ContainerTestEnv;
  let root: string;
  let rt: EngineRuntime;
  const running = (p: Pod) =>
    until(`${p.metadata!.name} running`, async () => {
      await rt.syncPod(p, inputs);
      const s = await rt.podStatus(p);
      return s.containerStatuses.every((c) => c.state?.running) ? s : undefined;
    });

  before(async () => {
    env = await startContainerDaemon();
    root = mkdtempSync(path.join(os.tmpdir(), 'berth-kubelet-'));
    rt = new EngineRuntime({
      engine: `unix://${env.d.socket}`,
      root,
      nodeName: 'berth',
      hostIP: '127.0.0.1',
      network: { name: NET, subnet: SUBNET },
      backoff: { initialMs: 200, maxMs: 800 },
    });
  });
  after(async () => {
    if (rt) await rt.removeOrphans(new Set());
    await env?.d.request('DELETE', `/networks/${NET}`);
    await env?.d.destroy();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('logs: current and previous attempts, tail, timestamps, limitBytes, and a 1 MiB line intact', async () => {
    const p = pod('logs', {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: [
            'sh',
            '-c',
            'echo run-$(cat /proc/sys/kernel/random/uuid | cut -c1-8); head -c 1048576 /dev/zero | tr "\\0" x; echo; seq 1 5; sleep 1; exit 1',
          ],
        },
      ],
    });
    await until('a restart', async () => {
      await rt.syncPod(p, inputs);
      return (await rt.podStatus(p)).containerStatuses[0].restartCount >= 1;
    });
    const cur = await until('current logs', async () => {
      const t = await text(await rt.logs(p, { container: 'c' }));
      return t.startsWith('run-') ? t : undefined;
    });
    const prev = await text(await rt.logs(p, { container: 'c', previous: true }));
    assert.ok(
      /^run-[0-9a-f]{8}\nx{1048576}\n1\n2\n3\n4\n5\n$/.test(prev),
      `previous logs: ${prev.length} bytes`,
    );
    assert.notEqual(prev.split('\n')[0], cur.split('\n')[0], 'previous is the other attempt');
    assert.equal(await text(await rt.logs(p, { container: 'c', previous: true, tailLines: 2 })), '4\n5\n');
    assert.equal(
      await text(await rt.logs(p, { container: 'c', previous: true, limitBytes: 10 })),
      prev.slice(0, 10),
    );
    const stamped = (
      await text(await rt.logs(p, { container: 'c', previous: true, timestamps: true, tailLines: 3 }))
    ).split('\n');
    assert.match(stamped[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z 3$/);
    await assert.rejects(
      rt.logs(pod('nothing', { containers: [{ name: 'c', image: 'busybox' }] }), { container: 'c' }),
      /is waiting to start: ContainerCreating/,
    );
  });

  it('exec with stdin and an exit code; port-forward to an app on the pod loopback; securityContext applies', async () => {
    const p = pod('app', {
      securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000] },
      containers: [
        {
          name: 'web',
          image: 'busybox',
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'while true; do echo pong | nc -l -p 9090; done'],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    });
    await running(p);
    const x = await rt.exec(
      p,
      [
        'sh',
        '-c',
        'id; cat; grep -E "^(NoNewPrivs|Seccomp|CapEff):" /proc/self/status; touch /x 2>&1; stat -c %g /scratch; exit 7',
      ],
      { container: 'web', stdin: true, stdout: true, stderr: true, tty: false },
    );
    x.stdin!.end('from-stdin\n');
    const [out, err, code] = await Promise.all([text(x.stdout), text(x.stderr!), x.exitCode]);
    assert.equal(code, 7, err);
    assert.match(out, /^uid=1000 gid=3000 groups=(.*2000.*4000|.*4000.*2000)/);
    assert.match(out, /\nfrom-stdin\n/);
    assert.match(out, /NoNewPrivs:\s+1/);
    assert.match(out, /Seccomp:\s+2/);
    assert.match(out, /CapEff:\s+0000000000000000/);
    assert.match(out, /Read-only file system/);
    assert.match(out, /\n2000\n$/);

    const s = await until('port-forward', async () => {
      const d = await rt.portForward(p, 9090);
      d.end();
      return text(d);
    });
    assert.equal(s, 'pong\n');
    const refused = await rt.portForward(p, 9191);
    refused.end();
    await assert.rejects(text(refused), /failed to connect to localhost:9191 inside the pod/);

    const stats = await rt.stats(p);
    assert.equal(stats.containers[0].name, 'web');
    assert.ok(stats.containers[0].memoryWorkingSetBytes > 0);
  });
});

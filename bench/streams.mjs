#!/usr/bin/env node
// The cluster's stream routes against the engine path beneath them, measured in the same run on one berthd
// (root; needs `npm run build`): berth-kube relays exec and port-forward through its API server, so the peer is
// the same work done straight against berthd (the docker CLI, the pod IP).
//   `kubectl exec POD -- true` vs `docker exec CONTAINER true`                        (median of 10, whole process)
//   64 MiB out of `kubectl exec POD -- cat` (WebSocket v5, then SPDY) vs `docker exec CONTAINER cat`   (MiB/s)
//   64 MiB through `kubectl port-forward` (WebSocket-tunnelled SPDY, then SPDY) vs from the pod IP    (MiB/s)
// Anchor: none published for exec or port-forward through kube-apiserver; the ratio is the API server's cost.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const MIB = 64;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function sh(script, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('sh', ['-c', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${script}: ${err}`)),
    );
  });
}

/** ms to read the whole HTTP answer for `p` from host:port (test/helpers/tcp.js's raw HTTP/1.0 client). */
async function download(host, port, p) {
  const { httpGetStream } = await import(path.join(REPO, 'test/dist/helpers/tcp.js'));
  const t0 = performance.now();
  let n = 0;
  await httpGetStream(port, p, (d) => (n += d.length), host);
  if (n <= MIB * 1024 * 1024) throw new Error(`${n} bytes`);
  return performance.now() - t0;
}

async function portForward(kubeconfig, local, env) {
  const p = spawn(KUBECTL, ['--kubeconfig', kubeconfig, 'port-forward', 'pod/bench', `${local}:8080`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Forwarding from')) resolve();
    });
    p.on('exit', () => reject(new Error('kubectl port-forward exited')));
  });
  return p;
}

async function main() {
  if (process.getuid() !== 0) {
    console.log('streams: skipped (needs root to run berthd)');
    return;
  }
  const { startContainerDaemon } = await import(path.join(REPO, 'test/dist/helpers/container-daemon.js'));
  const { startKubeCluster, until } = await import(path.join(REPO, 'test/dist/helpers/kube-cluster.js'));
  const env = await startContainerDaemon();
  const node = 'bench-streams';
  const podNet = `kstbench-${process.pid}`;
  const kube = await startKubeCluster({
    engineSocket: env.d.socket,
    port: 18190 + (process.pid % 8),
    nodeName: node,
    podCIDR: `10.217.${150 + (process.pid % 40)}.0/24`,
    podNetwork: podNet,
  });
  const k = { KUBECONFIG: kube.kubeconfig, HOME: kube.dataDir };
  const docker = `docker -H unix://${env.d.socket}`;
  try {
    await kube.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bench', namespace: 'default' },
        spec: {
          nodeName: node,
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'main',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: [
                'sh',
                '-c',
                `mkdir /www; head -c ${MIB}m /dev/urandom >/www/big; exec httpd -f -p 8080 -h /www`,
              ],
            },
          ],
        },
      }),
    });
    await kube.k(['wait', '--for=condition=Ready', 'pod/bench', '--timeout=60s'], { timeoutMs: 70_000 });
    const pod = await kube.json(['get', 'pod', 'bench']);
    const podIP = pod.status.podIP;
    const ctr = (await env.d.docker(['ps', '-q', '--filter', 'name=k8s_main_bench_'])).stdout.trim();
    await until('the blob', async () => (await download(podIP, 8080, '/big').catch(() => 0)) > 0, 30_000);

    const kexec = [];
    const dexec = [];
    for (let i = 0; i < 11; i++) {
      kexec.push(await sh(`"${KUBECTL}" exec bench -- true`, k));
      dexec.push(await sh(`${docker} exec ${ctr} true`, {}));
    }
    const km = median(kexec.slice(1));
    const dm = median(dexec.slice(1));
    console.log(
      `streams: kubectl exec -- true ${km.toFixed(0)} ms vs docker exec ${dm.toFixed(0)} ms (median of 10, whole process): ${(km / dm).toFixed(2)}x`,
    );
    const rate = (ms) => (MIB / (ms / 1000)).toFixed(0);
    const dtimes = [];
    for (let i = 0; i < 3; i++) dtimes.push(await sh(`${docker} exec ${ctr} cat /www/big >/dev/null`, {}));
    const dbest = Math.min(...dtimes);
    for (const { label, extra } of [
      { label: 'WebSocket v5', extra: {} },
      { label: 'SPDY', extra: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } },
    ]) {
      const t = [];
      for (let i = 0; i < 3; i++)
        t.push(await sh(`"${KUBECTL}" exec bench -- cat /www/big >/dev/null`, { ...k, ...extra }));
      const best = Math.min(...t);
      console.log(
        `streams: ${MIB} MiB out of exec cat over ${label}: ${rate(best)} MiB/s vs docker exec ${rate(dbest)} MiB/s (best of 3): ${(dbest / best).toFixed(2)}x the engine's rate`,
      );
    }
    const directs = [];
    for (let i = 0; i < 3; i++) directs.push(await download(podIP, 8080, '/big'));
    const direct = Math.min(...directs);
    for (const { label, extra, local } of [
      { label: 'WebSocket-tunnelled SPDY', extra: {}, local: 18198 },
      { label: 'SPDY', extra: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, local: 18199 },
    ]) {
      const pf = await portForward(kube.kubeconfig, local, { ...k, ...extra });
      try {
        const t = [];
        for (let i = 0; i < 3; i++) t.push(await download('127.0.0.1', local, '/big'));
        const best = Math.min(...t);
        console.log(
          `streams: ${MIB} MiB through port-forward over ${label}: ${rate(best)} MiB/s vs from the pod IP ${rate(direct)} MiB/s: ${(direct / best).toFixed(2)}x the direct rate`,
        );
      } finally {
        pf.kill();
      }
    }
  } finally {
    await kube.kubectl(['delete', 'pod', 'bench', '--grace-period=0', '--force']).catch(() => undefined);
    await kube.destroy();
    const ids = (await env.d.docker(['ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid'])).stdout
      .split('\n')
      .filter(Boolean);
    if (ids.length) await env.d.docker(['rm', '-f', ...ids]);
    await env.d.request('DELETE', `/networks/${podNet}`);
    await env.d.destroy();
  }
}

await main();

// Service throughput on a real berthd (root; needs `npm run build`), each against its peer in the same run:
//   a ClusterIP Service against pod-to-pod by pod IP (busybox nc in pods, timed by the client pod's `time`)
//     target: within 0.9x
//   a LoadBalancer on the host's 127.0.0.1 against a published container port (`docker run -p`) on the same
//     berthd (a Node client on the host); both are kernel DNAT         target: ≥ 0.8x
// Each sample sends SIZE_MIB MiB to a busybox `nc -l` that discards it; the time runs until the server has
// read everything and closed. Medians of RUNS, interleaved so both sides see the same machine load.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIZE_MIB = 256;
const RUNS = 5;
const SINK_PORT = 5001;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mibps = (secs) => SIZE_MIB / secs;
// A persistent server (busybox nc's -ll -e) whose child reads each connection to its end and discards it; nc
// alone would close on its own stdin's EOF, before reading anything.
const SINK = `printf '#!/bin/sh\\nexec cat >/dev/null\\n' >/tmp/discard && chmod +x /tmp/discard && exec nc -ll -p ${SINK_PORT} -e /tmp/discard`;

/** Seconds to push SIZE_MIB MiB from the host to 127.0.0.1:port until the peer closes. */
function hostSend(port) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20);
    const t0 = performance.now();
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      let left = SIZE_MIB;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.on('data', () => undefined);
    s.on('error', reject);
    s.on('close', (hadError) => (hadError ? undefined : resolve((performance.now() - t0) / 1000)));
  });
}

async function retry(what, fn, ms = 30_000) {
  const t0 = performance.now();
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (performance.now() - t0 > ms) throw new Error(`${what}: ${e.message}`);
      await sleep(200);
    }
  }
}

export async function benchServices() {
  if (process.getuid() !== 0) {
    console.log('services: skipped (needs root to run berthd)');
    return;
  }
  const { startContainerDaemon } = await import(path.join(REPO, 'test/dist/helpers/container-daemon.js'));
  const { startKubeCluster, until } = await import(path.join(REPO, 'test/dist/helpers/kube-cluster.js'));
  const env = await startContainerDaemon();
  const node = 'bench-svc-node';
  const podNet = `ksvc-${process.pid}`;
  const table = `berth_bench_svc_${process.pid}`;
  const lbPort = 19400 + (process.pid % 40);
  const dockerPort = 19450 + (process.pid % 40);
  const kube = await startKubeCluster({
    engineSocket: env.d.socket,
    port: 19490 + (process.pid % 9),
    nodeName: node,
    podCIDR: `10.230.${1 + (process.pid % 250)}.0/24`,
    podNetwork: podNet,
    extraArgs: ['--proxy-table', table, '--dns-port', String(19441 + (process.pid % 4))],
  });
  const apply = (obj) => kube.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const pod = (name, labels, cmd) =>
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels },
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: cmd }],
      },
    });
  const svc = (name, spec) =>
    apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { selector: { app: 'sink' }, ports: [{ port: SINK_PORT, targetPort: SINK_PORT }], ...spec },
    });
  /** Seconds (busybox `time`, 10 ms steps) for the client pod to send SIZE_MIB MiB to host:SINK_PORT. */
  const podSend = async (host) => {
    const r = await kube.kubectl(
      [
        'exec',
        'client',
        '--',
        'sh',
        '-c',
        `time sh -c 'dd if=/dev/zero bs=1048576 count=${SIZE_MIB} 2>/dev/null | nc ${host} ${SINK_PORT}'`,
      ],
      { timeoutMs: 120_000 },
    );
    const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
    if (r.code !== 0 || !m) throw new Error(`nc to ${host} failed (${r.code}): ${r.stderr}`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  try {
    await pod('sink', { app: 'sink' }, ['sh', '-c', SINK]);
    await pod('client', {}, ['sleep', '3600']);
    await svc('sink', {});
    await svc('sink-lb', { type: 'LoadBalancer', ports: [{ port: lbPort, targetPort: SINK_PORT }] });
    await env.d.docker([
      'run',
      '-d',
      '--name',
      `bench-sink-${process.pid}`,
      '-p',
      `127.0.0.1:${dockerPort}:${SINK_PORT}`,
      'busybox',
      'sh',
      '-c',
      SINK,
    ]);
    const podIP = await until(
      'the sink pod running with an endpoint',
      async () => {
        const p = await kube.json(['get', 'pod', 'sink']);
        const c = await kube.json(['get', 'pod', 'client']);
        const eps = await kube.json(['get', 'endpoints', 'sink']);
        return p.status.phase === 'Running' && c.status.phase === 'Running' && eps.subsets?.[0]?.addresses
          ? p.status.podIP
          : undefined;
      },
      90_000,
    );
    const clusterIP = (await kube.json(['get', 'service', 'sink'])).spec.clusterIP;
    // Warm-up, which also waits for the proxy's rules and the listeners to be in place.
    await retry('pod IP', () => podSend(podIP));
    await retry('cluster IP', () => podSend(clusterIP));
    await retry('LoadBalancer', () => hostSend(lbPort));
    await retry('docker -p', () => hostSend(dockerPort));
    const s = { pod: [], cluster: [], lb: [], docker: [] };
    for (let i = 0; i < RUNS; i++) {
      s.pod.push(await podSend(podIP));
      s.cluster.push(await podSend(clusterIP));
      s.lb.push(await hostSend(lbPort));
      s.docker.push(await hostSend(dockerPort));
    }
    const [byIP, byCluster, byLB, byDocker] = [s.pod, s.cluster, s.lb, s.docker].map((x) => mibps(median(x)));
    console.log(
      `services: ${SIZE_MIB} MiB pod→pod, ClusterIP ${byCluster.toFixed(0)} MiB/s vs pod IP ${byIP.toFixed(0)} MiB/s: ${(byCluster / byIP).toFixed(2)}x   (target ≥ 0.9x; medians of ${RUNS})`,
    );
    console.log(
      `services: ${SIZE_MIB} MiB from the host's 127.0.0.1, LoadBalancer ${byLB.toFixed(0)} MiB/s vs docker run -p ${byDocker.toFixed(0)} MiB/s: ${(byLB / byDocker).toFixed(2)}x   (target ≥ 0.8x; same berthd; medians of ${RUNS})`,
    );
  } finally {
    await kube.kubectl(['delete', 'pods', '--all', '--grace-period=0', '--force'], { timeoutMs: 60_000 });
    await kube.destroy();
    const ids = (await env.d.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await env.d.docker(['rm', '-f', ...ids], { timeoutMs: 120_000 });
    await env.d.request('DELETE', `/networks/${podNet}`);
    await env.d.destroy();
    spawnSync('nft', ['delete', 'table', 'ip', table], { stdio: 'ignore' }); // left only by a crash
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchServices();

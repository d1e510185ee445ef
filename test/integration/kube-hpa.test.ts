/**
 * The HorizontalPodAutoscaler with the real kubectl 1.32 against berth-kube over a real berthd: `kubectl autoscale`
 * of a Deployment whose pod burns CPU (a shell loop, 100m requested) scales it to --max from the kubelet's real
 * metrics.k8s.io, `kubectl get hpa` prints the TARGETS column as kube-apiserver does, the v1 view carries the CPU
 * percentages; an idle Deployment stays at --min with `cpu: 0%/50%`. Pod network: a random /24 of 10.222.0.0/16.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers/kube-cluster.js';
import { podClusterSuite, podSuiteSkip } from '../helpers/kube-pods.js';

const skip = podSuiteSkip();

const deployment = (name: string, script: string) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', script],
              resources: { requests: { cpu: '100m' } },
            },
          ],
        },
      },
    },
  });

describe('kubectl autoscale against berth-kube on berthd', { skip }, () => {
  const { kube } = podClusterSuite({
    port: 18650 + (process.pid % 40),
    nodeName: 'hpa-node',
    podCIDR: `10.222.${Math.floor(Math.random() * 120) + 130}.0/24`,
    podNetwork: `hpa-${process.pid}`,
    cleanup: ['hpa,deployments', '--all', '--wait=false'],
  });
  const replicas = async (name: string) =>
    (await kube.json<{ spec: { replicas: number } }>(['get', 'deployment', name])).spec.replicas;

  it('scales a CPU-bound Deployment to --max and leaves an idle one at --min', async () => {
    await kube.k(['apply', '-f', '-'], { input: deployment('burn', 'while :; do :; done') });
    await kube.k(['apply', '-f', '-'], {
      input: deployment('idle', "trap 'exit 0' TERM; sleep 3600 & wait"),
    });
    for (const d of ['burn', 'idle'])
      await kube.k(['rollout', 'status', `deployment/${d}`, '--timeout=60s'], { timeoutMs: 70_000 });
    for (const d of ['burn', 'idle'])
      assert.equal(
        await kube.k(['autoscale', 'deployment', d, '--cpu-percent=50', '--min=1', '--max=3']),
        `horizontalpodautoscaler.autoscaling/${d} autoscaled\n`,
      );
    try {
      await until('burn scaled to 3', async () => (await replicas('burn')) === 3, 60_000).catch(
        async (e: Error) => {
          const hpa = await kube.kubectl(['get', 'hpa', 'burn', '-o', 'yaml']);
          throw new Error(`${e.message}\n${hpa.stdout}`);
        },
      );
      const table = await kube.k(['get', 'hpa', 'burn']);
      assert.match(
        table,
        /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\nburn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+\d\s+\d+s\n$/,
      );
      const events = await kube.k([
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=burn,involvedObject.kind=HorizontalPodAutoscaler',
      ]);
      assert.match(
        events,
        /Normal\s+SuccessfulRescale\s+horizontalpodautoscaler\/burn\s+New size: 3; reason: cpu resource utilization \(percentage of request\) above target/,
      );
      const v1 = await kube.json<{
        spec: { targetCPUUtilizationPercentage: number };
        status: { currentCPUUtilizationPercentage?: number; desiredReplicas: number };
      }>(['get', 'horizontalpodautoscalers.v1.autoscaling', 'burn']);
      assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);
      assert.ok((v1.status.currentCPUUtilizationPercentage ?? 0) > 50, JSON.stringify(v1.status));
    } finally {
      // Stop burning the shared machine's CPU as soon as the answer is in.
      await kube.kubectl(['delete', 'hpa', 'burn']);
      await kube.kubectl(['scale', 'deployment', 'burn', '--replicas=0']);
    }
    const idle = await until('idle measured', async () => {
      const t = await kube.k(['get', 'hpa', 'idle', '--no-headers']);
      return /cpu: \d+%\/50%/.test(t) ? t : undefined;
    });
    assert.match(idle, /^idle\s+Deployment\/idle\s+cpu: 0%\/50%\s+1\s+3\s+1\s+\d+s\n$/);
    assert.equal(await replicas('idle'), 1);
  });
});

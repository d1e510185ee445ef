/**
 * `kubectl rollout` (1.32) against a real berth-kube over a real berthd, where the pods really run: status waits for
 * the Deployment controller's conditions, history lists the ReplicaSets' revisions and change causes, undo (to the
 * previous and to a given revision) restores the template, pause holds a template change until resume, restart
 * replaces every pod. Bad input: an unknown revision, undo of a paused Deployment, pausing twice. Pod network: a
 * random /24 of 10.216.0.0/16.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers/kube-cluster.js';
import { podClusterSuite, podSuiteSkip } from '../helpers/kube-pods.js';

const skip = podSuiteSkip();

interface RS {
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: { name: string }[] };
  spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
}
interface Deploy {
  metadata: { annotations?: Record<string, string>; generation: number };
  spec: {
    paused?: boolean;
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: { containers: { image: string }[] };
    };
  };
  status: { conditions?: { type: string; reason: string }[]; observedGeneration?: number };
}
interface PodList {
  items: { metadata: { name: string; deletionTimestamp?: string }; status: { phase: string } }[];
}

// The shell is PID 1: it exits on TERM so a rollout does not wait out the grace period.
const deploymentYaml = (replicas: number) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', annotations: { 'kubernetes.io/change-cause': 'first' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'app',
              image: 'busybox',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
            },
          ],
        },
      },
    },
  });

describe('kubectl rollout against berth-kube on berthd', { skip }, () => {
  const { kube } = podClusterSuite({
    port: 18000 + (process.pid % 50),
    nodeName: 'rollout-node',
    podCIDR: `10.216.${Math.floor(Math.random() * 250) + 1}.0/24`,
    podNetwork: `rollout-${process.pid}`,
    cleanup: ['deployment', '--all', '--cascade=foreground', '--wait=false'],
  });

  const dep = () => kube.json<Deploy>(['get', 'deployment', 'web']);
  const image = async () => (await dep()).spec.template.spec.containers[0].image;
  const ownedRSs = async () =>
    (await kube.json<{ items: RS[] }>(['get', 'rs', '-l', 'app=web'])).items.filter(
      (r) => r.metadata.ownerReferences?.[0]?.name === 'web',
    );
  const status = () =>
    kube.k(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
  const livePods = async () =>
    (await kube.json<PodList>(['get', 'pods', '-l', 'app=web'])).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );

  it('status waits for a new Deployment to roll out, with running pods', async () => {
    await kube.k(['apply', '-f', '-'], { input: deploymentYaml(2) });
    const out = await status();
    assert.match(out, /deployment "web" successfully rolled out\n$/);
    const pods = await livePods();
    assert.equal(pods.length, 2);
    assert.ok(pods.every((p) => p.status.phase === 'Running'));
  });

  it('history lists each revision with its change cause; --revision shows its template', async () => {
    await kube.k(['set', 'image', 'deployment/web', 'app=berth-app']);
    await kube.k(['annotate', 'deployment/web', '--overwrite', 'kubernetes.io/change-cause=to berth-app']);
    assert.match(await status(), /successfully rolled out/);
    const rss = await ownedRSs();
    assert.equal(rss.length, 2);
    const current = rss.find((r) => r.spec.replicas === 2)!;
    assert.equal(current.spec.template.spec.containers[0].image, 'berth-app');
    assert.equal(current.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const history = await kube.k(['rollout', 'history', 'deployment/web']);
    assert.match(history, /^deployment\.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+first\n2\s+to berth-app\n/);
    const one = await kube.k(['rollout', 'history', 'deployment/web', '--revision=1']);
    assert.match(one, /deployment\.apps\/web with revision #1\n/);
    assert.match(one, /Image:\s+busybox\n/);
    const bad = await kube.kubectl(['rollout', 'history', 'deployment/web', '--revision=9']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unable to find the specified revision/);
  });

  it('undo goes back to the previous revision and to a given one; an unknown revision is refused', async () => {
    const out = await kube.k(['rollout', 'undo', 'deployment/web']);
    assert.equal(out, 'deployment.apps/web rolled back\n');
    assert.match(await status(), /successfully rolled out/);
    assert.equal(await image(), 'busybox');
    // Revision 1 became 3: its ReplicaSet is reused, not copied.
    const rss = await ownedRSs();
    assert.equal(rss.length, 2);
    const back = rss.find((r) => r.spec.template.spec.containers[0].image === 'busybox')!;
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.spec.replicas, 2);
    // kubectl copies the revision's annotations back, so its change cause returns with it.
    assert.match(
      await kube.k(['rollout', 'history', 'deployment/web']),
      /\n2\s+to berth-app\n3\s+first\n\n$/,
    );

    const missing = await kube.kubectl(['rollout', 'undo', 'deployment/web', '--to-revision=42']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /unable to find specified revision 42 in history/);

    assert.equal(
      await kube.k(['rollout', 'undo', 'deployment/web', '--to-revision=2']),
      'deployment.apps/web rolled back\n',
    );
    assert.match(await status(), /successfully rolled out/);
    assert.equal(await image(), 'berth-app');
  });

  it('pause holds a template change (no new ReplicaSet) until resume rolls it out', async () => {
    assert.equal(await kube.k(['rollout', 'pause', 'deployment/web']), 'deployment.apps/web paused\n');
    const again = await kube.kubectl(['rollout', 'pause', 'deployment/web']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /deployments\.apps "web" is already paused/);
    await kube.k(['set', 'env', 'deployment/web', 'MODE=paused']);
    await until('the paused condition', async () => {
      const d = await dep();
      return (
        (d.status.observedGeneration ?? 0) >= d.metadata.generation &&
        d.status.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused')
      );
    });
    assert.equal((await ownedRSs()).length, 2, 'no ReplicaSet for the paused template');
    const undo = await kube.kubectl(['rollout', 'undo', 'deployment/web']);
    assert.notEqual(undo.code, 0);
    assert.match(undo.stderr, /you cannot rollback a paused deployment; resume it first/);

    assert.equal(await kube.k(['rollout', 'resume', 'deployment/web']), 'deployment.apps/web resumed\n');
    assert.match(await status(), /successfully rolled out/);
    const rss = await ownedRSs();
    assert.equal(rss.length, 3);
    assert.equal(rss.filter((r) => r.spec.replicas > 0).length, 1);
  });

  it('restart replaces every pod through a new revision', async () => {
    const before = new Set((await livePods()).map((p) => p.metadata.name));
    assert.equal(await kube.k(['rollout', 'restart', 'deployment/web']), 'deployment.apps/web restarted\n');
    assert.match(await status(), /successfully rolled out/);
    const d = await dep();
    assert.match(
      d.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '',
      /^\d{4}-/,
    );
    const now = await until('old pods gone', async () => {
      const pods = await livePods();
      return pods.length === 2 && pods.every((p) => !before.has(p.metadata.name)) ? pods : undefined;
    });
    assert.ok(now.every((p) => p.status.phase === 'Running'));
  });
});

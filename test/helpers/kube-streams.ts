/**
 * An API server in this process with the streaming subresources registered over a real EngineRuntime on a test
 * berthd, and pods run by hand (bound, synced, their status written as the kubelet would), so exec, attach,
 * port-forward, cp and proxy are driven by the real kubectl 1.32, @kubernetes/client-node and python3-kubernetes.
 * Pod network: a random /24 of 10.217.0.0/16.
 */
import { mkdtempSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type RunningApiServer } from '@berth/kube/apiserver/index';
import { registerStreams } from '@berth/kube/apiserver/streams/index';
import type { Client } from '@berth/kube/client/index';
import type { PodInputs } from '@berth/kube/kubelet/inputs';
import { EngineRuntime } from '@berth/kube/kubelet/runtime';
import type { Pod } from '@berth/kube/kubelet/types';
import { createLogger, setLogLevel } from '@berth/kube/log';
import type { KubeObject } from '@berth/kube/registry/types';
import { MemoryStore } from '@berth/kube/store/memory';
import { startContainerDaemon, type ContainerTestEnv } from './container-daemon.js';
import { run, type RunResult } from './exec.js';
import { until } from './kube-cluster.js';
import { KUBECTL_132 as KUBECTL } from './kube.js';

export { KUBECTL, until };
export const NODE = 'berth-streams';

export interface StreamCluster {
  env: ContainerTestEnv;
  api: RunningApiServer;
  client: Client;
  rt: EngineRuntime;
  dir: string;
  kubeconfig: string;
  kubectl(
    args: string[],
    o?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<RunResult>;
  /** A shell script with $KUBECTL (the 1.32 binary) and KUBECONFIG set, for pipes of binary output. */
  sh(script: string, o?: { input?: string | Buffer; env?: Record<string, string> }): Promise<RunResult>;
  /** Creates the pod bound to the node, runs it and writes its Running status; returns it as stored. */
  runPod(name: string, spec: Pod['spec']): Promise<Pod>;
  stop(): Promise<void>;
}

const inputs: PodInputs = { configMaps: {}, secrets: {} };

export async function startStreamCluster(): Promise<StreamCluster> {
  setLogLevel('error');
  const env = await startContainerDaemon();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-kstreams-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const api = await startApiServer({
    dataDir: path.join(dir, 'data'),
    kubeconfig,
    listen: '127.0.0.1:0',
    store: new MemoryStore(),
    log: createLogger({ test: 'kube-streams' }),
    // No ServiceAccounts controller runs here to make the `default` account pods would need.
    serviceAccountAdmission: false,
  });
  const network = `kstreams-${process.pid}`;
  const rt = new EngineRuntime({
    engine: `unix://${env.d.socket}`,
    root: path.join(dir, 'kubelet'),
    nodeName: NODE,
    hostIP: '127.0.0.1',
    network: { name: network, subnet: `10.217.${Math.floor(Math.random() * 250) + 1}.0/24` },
    backoff: { initialMs: 200, maxMs: 800 },
  });
  registerStreams(
    api.connectors,
    {
      nodeName: NODE,
      exec: (p, cmd, o) => rt.exec(p, cmd, o),
      attach: (p, o) => rt.attach(p, o),
      portForward: (p, port) => rt.portForward(p, port),
    },
    createLogger({ component: 'streams' }),
  );
  const client = api.client({
    user: { name: 'test', groups: ['system:masters', 'system:authenticated'] },
    fieldManager: 'test',
  });
  const pods = client.resource('v1', 'pods');
  const home = path.join(dir, 'home');
  await fsp.mkdir(home, { recursive: true });
  return {
    env,
    api,
    client,
    rt,
    dir,
    kubeconfig,
    kubectl: (args, o = {}) =>
      run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(home, 'cache'), ...args], {
        env: { ...process.env, HOME: home, KUBECONFIG: '', ...o.env },
        ...(o.input !== undefined ? { input: o.input } : {}),
        timeoutMs: o.timeoutMs ?? 60_000,
      }),
    sh: (script, o = {}) =>
      run('sh', ['-c', script], {
        env: { ...process.env, HOME: home, KUBECTL, KUBECONFIG: kubeconfig, ...o.env },
        ...(o.input !== undefined ? { input: o.input } : {}),
        timeoutMs: 60_000,
      }),
    async runPod(name, spec) {
      const created = (await pods.create(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default' },
          spec: { terminationGracePeriodSeconds: 1, ...spec, nodeName: NODE },
        },
        { namespace: 'default' },
      )) as unknown as Pod;
      const st = await until(`pod ${name} running`, async () => {
        await rt.syncPod(created, inputs);
        const s = await rt.podStatus(created);
        return s.containerStatuses.every((c) => c.state?.running) && s.podIP ? s : undefined;
      });
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
      const withStatus = {
        ...created,
        status: {
          phase: 'Running',
          podIP: st.podIP,
          podIPs: st.podIPs.map((ip) => ({ ip })),
          hostIP: st.hostIP,
          startTime: st.startedAt ?? now,
          qosClass: st.qosClass,
          conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
          containerStatuses: st.containerStatuses,
        },
      };
      return await pods.updateStatus(withStatus as unknown as KubeObject, {
        namespace: 'default',
      });
    },
    async stop() {
      await rt.removeOrphans(new Set()).catch(() => undefined);
      await api.close();
      await env.d.request('DELETE', `/networks/${network}`).catch(() => undefined);
      await env.d.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Berth's cluster driven from the dashboard (Settings → Kubernetes): the host runs one action at a time (enable,
 * disable, reset: electron/src/kube/actions.ts, as `berth kube` does) and keeps its steps, so the page shows the
 * progress, and finds it again after a reload. The app answers over IPC, `berth serve` over `/host/kube/*`.
 */
import type { KubeEnableResult } from './kube.js';

export type KubeActionKind = 'enable' | 'disable' | 'reset';

export interface KubeAction {
  /** Grows with each action the host starts. */
  id: number;
  kind: KubeActionKind;
  state: 'running' | 'done' | 'failed';
  /** Each step as it started ("Starting the cluster (API server on 127.0.0.1:6443)"). */
  steps: string[];
  startedAt: string;
  endedAt?: string;
  /** Why it failed, in words a user can act on. */
  error?: string;
  /** What enable did: the node, the API URL, the kubeconfig. */
  result?: KubeEnableResult;
}

/** What enable may be given from the page (absent: the remembered settings). */
export function kubeEnableProblem(o: unknown): string | undefined {
  if (o === undefined || o === null) return undefined;
  if (typeof o !== 'object' || Array.isArray(o)) return 'enable takes an object: {port?, podCIDR?, use?}';
  const { port, podCIDR, use, ...rest } = o as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) return `unknown enable option: ${extra.join(', ')}`;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535))
    return `the API port must be a number from 1 to 65535 (got ${JSON.stringify(port)})`;
  if (
    podCIDR !== undefined &&
    (typeof podCIDR !== 'string' || !/^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12]\d|3[0-2])$/.test(podCIDR))
  )
    return `the pod network must be an IPv4 CIDR such as 10.42.0.0/16 (got ${JSON.stringify(podCIDR)})`;
  if (use !== undefined && typeof use !== 'boolean') return '"use" must be true or false';
  return undefined;
}

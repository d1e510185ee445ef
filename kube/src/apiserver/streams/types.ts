/** The seam between the API server's streaming protocols and whatever runs pods (the kubelet's PodRuntime). */
import type { PodRuntime } from '../../kubelet/provider.js';

export interface StreamBackend extends Pick<PodRuntime, 'exec' | 'attach' | 'portForward'> {
  /** The node whose pods this backend runs (pods bound elsewhere are refused as kube-apiserver would). */
  nodeName: string;
}

/** Query booleans as kube-apiserver converts them: absent, "0" or "false" is false, anything else true. */
export function queryBool(q: URLSearchParams, key: string): boolean {
  const v = q.getAll(key);
  if (!v.length) return false;
  return !(v[0] === '0' || v[0].toLowerCase() === 'false');
}

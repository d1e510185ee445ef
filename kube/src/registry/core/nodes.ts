/** Nodes: status written by the kubelet (kept at create), spec.unschedulable selector, kube-apiserver's columns. */
import { AGE_COLUMN, NAME_COLUMN, age, at, col, str } from '../printing.js';
import type { KubeObject, Strategy } from '../types.js';

function roles(n: KubeObject): string {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) out.add(r);
    } else if (k === 'kubernetes.io/role' && v) out.add(v);
  }
  return [...out].sort().join(',') || '<none>';
}

function address(n: KubeObject, type: string): string {
  const addrs = (at(n, 'status.addresses') as Array<{ type: string; address: string }> | undefined) ?? [];
  return addrs.find((a) => a.type === type)?.address ?? '<none>';
}

export const nodeStrategy: Strategy = {
  initialStatus: (n) => n.status ?? {},
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  fieldSelectors: { 'spec.unschedulable': (n) => String(at(n, 'spec.unschedulable') === true) },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 0, 'The status of the node'),
      col('Roles', 'string', 0, 'The roles of the node'),
      AGE_COLUMN,
      col('Version', 'string', 0, 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 1, 'List of addresses reachable to the node.'),
      col('External-IP', 'string', 1, 'List of addresses reachable to the node.'),
      col(
        'OS-Image',
        'string',
        1,
        'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      ),
      col(
        'Kernel-Version',
        'string',
        1,
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      ),
      col(
        'Container-Runtime',
        'string',
        1,
        'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      ),
    ],
    cells(n) {
      const ready = (
        (at(n, 'status.conditions') as Array<{ type: string; status: string }> | undefined) ?? []
      ).find((c) => c.type === 'Ready');
      const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
      if (at(n, 'spec.unschedulable') === true) status.push('SchedulingDisabled');
      const info = (k: string) => str(at(n, `status.nodeInfo.${k}`)) || '<unknown>';
      return [
        n.metadata?.name,
        status.join(','),
        roles(n),
        age(n),
        str(at(n, 'status.nodeInfo.kubeletVersion')),
        address(n, 'InternalIP'),
        address(n, 'ExternalIP'),
        info('osImage'),
        info('kernelVersion'),
        info('containerRuntimeVersion'),
      ];
    },
  },
};

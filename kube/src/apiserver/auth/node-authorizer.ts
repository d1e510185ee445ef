/**
 * What a kubelet (user `system:node:<name>` in group `system:nodes`) may do, after kube-apiserver's Node
 * authorizer and the system:node ClusterRole, coarsened for one node: its own Node and Lease, pods and their
 * status, events, reads of what pods reference (ConfigMaps, Secrets, Services, claims, ServiceAccounts), tokens.
 * Other users get no opinion here (RBAC decides later).
 */
import type { AuthorizationAttributes, Authorizer, Decision } from './authorizer.js';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch'];

type Rule = { group: string; resources: string[]; verbs: string[]; own?: 'node' | 'lease' };

const RULES: Rule[] = [
  { group: '', resources: ['nodes'], verbs: [...READ, ...WRITE, 'delete'], own: 'node' },
  { group: '', resources: ['nodes/status'], verbs: ['get', 'update', 'patch'], own: 'node' },
  { group: '', resources: ['nodes'], verbs: READ },
  { group: '', resources: ['pods'], verbs: [...READ, 'create', 'delete'] },
  { group: '', resources: ['pods/status'], verbs: ['get', 'update', 'patch'] },
  { group: '', resources: ['pods/eviction'], verbs: ['create'] },
  { group: '', resources: ['events'], verbs: [...WRITE] },
  { group: 'events.k8s.io', resources: ['events'], verbs: [...WRITE] },
  {
    group: '',
    resources: [
      'configmaps',
      'secrets',
      'services',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumes',
      'serviceaccounts',
      'namespaces',
    ],
    verbs: READ,
  },
  { group: '', resources: ['serviceaccounts/token'], verbs: ['create'] },
  { group: '', resources: ['persistentvolumeclaims/status'], verbs: ['get', 'update', 'patch'] },
  { group: 'coordination.k8s.io', resources: ['leases'], verbs: [...READ, ...WRITE, 'delete'], own: 'lease' },
  { group: 'storage.k8s.io', resources: ['csinodes', 'csidrivers', 'volumeattachments'], verbs: READ },
  { group: 'node.k8s.io', resources: ['runtimeclasses'], verbs: READ },
  { group: 'authentication.k8s.io', resources: ['tokenreviews'], verbs: ['create'] },
  { group: 'authorization.k8s.io', resources: ['subjectaccessreviews'], verbs: ['create'] },
];

export class NodeAuthorizer implements Authorizer {
  readonly name = 'Node';

  authorize(a: AuthorizationAttributes): Decision {
    const node = /^system:node:(.+)$/.exec(a.user.name)?.[1];
    if (!node || !a.user.groups.includes('system:nodes') || !a.resourceRequest)
      return { decision: 'no-opinion' };
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
    for (const r of RULES) {
      if (r.group !== (a.apiGroup ?? '') || !r.resources.includes(resource) || !r.verbs.includes(a.verb))
        continue;
      // Its own node and lease only (by name; lists and creates name nothing).
      if (r.own && a.name && a.name !== node) continue;
      if (r.own === 'lease' && a.namespace && a.namespace !== 'kube-node-lease') continue;
      return { decision: 'allow' };
    }
    return { decision: 'no-opinion' };
  }
}

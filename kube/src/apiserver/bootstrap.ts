/**
 * What every cluster has from its first start, made idempotently at each start (kube-apiserver's bootstrap
 * controllers): the system namespaces, the `kubernetes` Service at the service range's first address, the
 * built-in PriorityClasses, the bootstrap RBAC policy (missing objects are created; changed ones are left), and
 * an APIService per served built-in group-version (kube-aggregator's autoregister: Local, always Available).
 */
import { isKubeError } from '../errors.js';
import type { Registry } from '../registry/generic/registry.js';
import type { RequestContext } from '../registry/generic/context.js';
import type { KubeObject } from '../registry/types.js';
import { PROTECTED_NAMESPACES } from '../registry/core/namespaces.js';
import { KUBERNETES_SERVICE_IP } from './pki/index.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './auth/rbac/policy.js';
import { localPathStorageClass } from '../controllers/volume/local-path.js';

export const SYSTEM_USER = { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };

async function ensure(
  registry: Registry,
  apiVersion: string,
  plural: string,
  namespace: string | undefined,
  obj: KubeObject,
): Promise<void> {
  const store = registry.resource(apiVersion, plural);
  if (!store) return;
  const ctx: RequestContext = { user: SYSTEM_USER, fieldManager: 'kube-apiserver' };
  try {
    await store.get(namespace, obj.metadata!.name!);
  } catch (e) {
    if (!isKubeError(e, 'NotFound')) throw e;
    try {
      await store.create(ctx, namespace, obj);
    } catch (err) {
      if (!isKubeError(err, 'AlreadyExists')) throw err;
    }
  }
}

export async function bootstrap(
  registry: Registry,
  serverPort: number,
  serverIp = '127.0.0.1',
): Promise<void> {
  for (const name of PROTECTED_NAMESPACES)
    await ensure(registry, 'v1', 'namespaces', undefined, { metadata: { name } });
  await ensure(registry, 'v1', 'services', 'default', {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: KUBERNETES_SERVICE_IP,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: serverPort }],
      sessionAffinity: 'None',
    },
  });
  await ensure(registry, 'v1', 'endpoints', 'default', {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [
      { addresses: [{ ip: serverIp }], ports: [{ name: 'https', port: serverPort, protocol: 'TCP' }] },
    ],
  });
  const priority = (name: string, value: number, description: string): KubeObject => ({
    metadata: { name },
    value,
    description,
    preemptionPolicy: 'PreemptLowerPriority',
  });
  await ensure(
    registry,
    'scheduling.k8s.io/v1',
    'priorityclasses',
    undefined,
    priority(
      'system-node-critical',
      2000001000,
      'Used for system critical pods that must not be moved from their current node.',
    ),
  );
  await ensure(
    registry,
    'scheduling.k8s.io/v1',
    'priorityclasses',
    undefined,
    priority(
      'system-cluster-critical',
      2000000000,
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    ),
  );
  const rbac = 'rbac.authorization.k8s.io/v1';
  for (const role of bootstrapClusterRoles()) await ensure(registry, rbac, 'clusterroles', undefined, role);
  for (const b of bootstrapClusterRoleBindings())
    await ensure(registry, rbac, 'clusterrolebindings', undefined, b);
  // The default `local-path` class, as k3s ships it: made while the cluster has no class at all, so a user's
  // own default (or a deliberate edit of this one) is left alone across restarts.
  if (!(await registry.list('storage.k8s.io/v1', 'storageclasses')).length)
    await ensure(registry, 'storage.k8s.io/v1', 'storageclasses', undefined, localPathStorageClass());
  await registerApiServices(registry);
}

/** kube-aggregator's groupPriorityMinimum per group (versionPriority 15, autoscaling/v2 30). */
const GROUP_PRIORITY: Record<string, number> = {
  '': 18000,
  'apiregistration.k8s.io': 18000,
  apps: 17800,
  'events.k8s.io': 17750,
  'authentication.k8s.io': 17700,
  'authorization.k8s.io': 17600,
  autoscaling: 17500,
  batch: 17400,
  'certificates.k8s.io': 17300,
  'networking.k8s.io': 17200,
  policy: 17100,
  'rbac.authorization.k8s.io': 17000,
  'storage.k8s.io': 16800,
  'admissionregistration.k8s.io': 16700,
  'scheduling.k8s.io': 16600,
  'coordination.k8s.io': 16500,
  'apiextensions.k8s.io': 16400,
  'node.k8s.io': 16300,
  'discovery.k8s.io': 16200,
};

async function registerApiServices(registry: Registry): Promise<void> {
  const store = registry.resource('apiregistration.k8s.io/v1', 'apiservices');
  if (!store) return;
  const ctx: RequestContext = { user: SYSTEM_USER, fieldManager: 'kube-apiserver' };
  for (const g of registry.deps.catalog.groups())
    for (const version of g.versions) {
      if (!registry.deps.catalog.versionTypes(g.name, version).length) continue;
      const name = `${version}.${g.name}`;
      await ensure(registry, 'apiregistration.k8s.io/v1', 'apiservices', undefined, {
        metadata: { name, labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
        spec: {
          ...(g.name ? { group: g.name } : {}),
          version,
          groupPriorityMinimum: GROUP_PRIORITY[g.name] ?? 1000,
          versionPriority: g.name === 'autoscaling' && version === 'v2' ? 30 : 15,
        },
      });
      const current = await store.get(undefined, name);
      const conds =
        (current.status as { conditions?: Array<{ type: string }> } | undefined)?.conditions ?? [];
      if (conds.some((c) => c.type === 'Available')) continue;
      await store.guaranteedUpdate(
        ctx,
        undefined,
        name,
        (cur) => ({
          ...cur!,
          status: {
            conditions: [
              {
                type: 'Available',
                status: 'True',
                lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                reason: 'Local',
                message: 'Local APIServices are always available',
              },
            ],
          },
        }),
        { subresource: 'status' },
      );
    }
}

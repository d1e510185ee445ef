/**
 * Subresources with their own rules, shared by the HTTP handlers and the in-process client: `scale` (an
 * autoscaling/v1 Scale view of spec.replicas), `binding` (the scheduler's pod placement), and namespaces'
 * `finalize` (spec.finalizers, which only the namespace controller changes).
 */
import { conflict, invalid, KubeError } from '../errors.js';
import type { CollectionStore } from './generic/collection.js';
import type { RequestContext } from './generic/context.js';
import { rfc3339 } from './generic/metadata.js';
import { formatSelector, at } from './printing.js';
import type { ScaleAccess } from '../schema/crd/resource.js';
import type { KubeObject } from './types.js';

/**
 * The Scale of a workload: spec.replicas, status.replicas and the selector as a string. Custom resources give
 * their own paths (the CRD's scale subresource: specReplicasPath, statusReplicasPath, labelSelectorPath).
 */
export function scaleOf(obj: KubeObject, custom?: ScaleAccess): KubeObject {
  const m = obj.metadata ?? {};
  if (custom) {
    const r = custom.read(obj);
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        creationTimestamp: m.creationTimestamp,
      },
      spec: { replicas: r.specReplicas },
      status: { replicas: r.statusReplicas, ...(r.selector ? { selector: r.selector } : {}) },
    };
  }
  const selector = at(obj, 'spec.selector');
  const sel =
    obj.kind === 'ReplicationController'
      ? Object.entries((selector ?? {}) as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : formatSelector(selector);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: (at(obj, 'spec.replicas') as number | undefined) ?? 0 },
    status: {
      replicas: (at(obj, 'status.replicas') as number | undefined) ?? 0,
      ...(sel && sel !== '<none>' ? { selector: sel } : {}),
    },
  };
}

/** Writes a Scale's spec.replicas into the workload (optimistic concurrency on the Scale's resourceVersion). */
export async function updateScale(
  store: CollectionStore,
  ctx: RequestContext,
  namespace: string | undefined,
  name: string,
  mutate: (scale: KubeObject) => Promise<KubeObject> | KubeObject,
  custom?: ScaleAccess,
): Promise<KubeObject> {
  const { object } = await store.guaranteedUpdate(
    ctx,
    namespace,
    name,
    async (current) => {
      if (!current)
        throw new KubeError('NotFound', `${store.qualified} "${name}" not found`, {
          kind: store.type.plural,
          name,
        });
      const scale = await mutate(scaleOf(current, custom));
      const replicas = at(scale, 'spec.replicas');
      if (typeof replicas !== 'number' || replicas < 0)
        throw invalid(
          'Scale',
          name,
          [
            {
              type: 'FieldValueInvalid',
              field: 'spec.replicas',
              badValue: replicas ?? null,
              detail: 'must be greater than or equal to 0',
            },
          ],
          'autoscaling',
        );
      const next = custom
        ? custom.write(current, replicas)
        : { ...current, spec: { ...(current.spec as object), replicas } };
      const rv = scale.metadata?.resourceVersion;
      next.metadata = { ...current.metadata, resourceVersion: rv || current.metadata?.resourceVersion };
      return next;
    },
    { subresource: 'scale' },
  );
  return scaleOf(object, custom);
}

/** pods/binding: sets spec.nodeName once and marks the pod scheduled (kube-apiserver's assignPod). */
export async function bindPod(
  store: CollectionStore,
  ctx: RequestContext,
  namespace: string,
  binding: KubeObject,
): Promise<void> {
  const name = binding.metadata?.name ?? '';
  const target = binding.target as { kind?: string; name?: string } | undefined;
  const node = target?.name ?? '';
  if (!node) throw invalid('Binding', name, [{ type: 'FieldValueRequired', field: 'target.name' }]);
  if (target?.kind && target.kind !== 'Node')
    throw invalid('Binding', name, [
      {
        type: 'FieldValueNotSupported',
        field: 'target.kind',
        badValue: target.kind,
        detail: 'supported values: "Node", ""',
      },
    ]);
  await store.guaranteedUpdate(
    ctx,
    namespace,
    name,
    (pod) => {
      if (!pod) throw new KubeError('NotFound', `pods "${name}" not found`, { kind: 'pods', name });
      if (pod.metadata?.deletionTimestamp)
        throw conflict('pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      const spec = (pod.spec ?? {}) as { nodeName?: string };
      if (spec.nodeName)
        throw conflict('pods', name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      const uid = binding.metadata?.uid;
      if (uid && uid !== pod.metadata?.uid)
        throw conflict(
          'pods',
          name,
          `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid}`,
        );
      spec.nodeName = node;
      pod.spec = spec;
      const status = (pod.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
      const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(ctx.now ?? new Date()),
      });
      status.conditions = conditions;
      pod.status = status;
      return pod;
    },
    { subresource: 'binding' },
  );
}

/** namespaces/finalize: only spec.finalizers changes. */
export async function finalizeNamespace(
  store: CollectionStore,
  ctx: RequestContext,
  name: string,
  body: KubeObject,
): Promise<KubeObject> {
  const { object } = await store.guaranteedUpdate(
    ctx,
    undefined,
    name,
    (ns) => {
      if (!ns)
        throw new KubeError('NotFound', `namespaces "${name}" not found`, { kind: 'namespaces', name });
      const finalizers = ((body.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
      ns.spec = { ...(ns.spec as object), finalizers };
      if (body.metadata?.resourceVersion)
        ns.metadata = { ...ns.metadata, resourceVersion: body.metadata.resourceVersion };
      return ns;
    },
    { subresource: 'finalize' },
  );
  return object;
}

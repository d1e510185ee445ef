/**
 * What the dashboard does to a cluster, as kubectl does it: scale (the Scale subresource), rollout restart
 * (the restartedAt annotation), rollback (the ReplicaSet of a revision's template, as `rollout undo`), delete
 * with a propagation policy, and server-side apply of edited YAML under the dashboard's field manager.
 */
import type { KubeObject } from '@berth/common';
import { clusterClient } from '../api/index.js';
import { RESOURCES, type ResourceName, type ResourceType } from '../api/cluster-client.js';

export const KIND_RESOURCE: Record<string, ResourceName> = Object.fromEntries(
  Object.entries(RESOURCES).map(([name, t]) => [t.kind, name as ResourceName]),
);

export function typeOf(o: KubeObject): ResourceType {
  const name = KIND_RESOURCE[o.kind ?? ''];
  if (!name) throw new Error(`the dashboard does not handle ${o.kind ?? 'this kind'}`);
  return RESOURCES[name];
}

/** What deleting does to what the object owns, in words (the person confirms this). */
export function cascadeText(o: KubeObject): string {
  switch (o.kind) {
    case 'Deployment':
      return 'Its ReplicaSets and their pods are deleted too (background cascade: the garbage collector removes them after the Deployment is gone).';
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return 'Its pods are deleted too (background cascade). PersistentVolumeClaims of a StatefulSet are kept.';
    case 'Job':
      return 'Its pods are deleted too (background cascade).';
    case 'CronJob':
      return 'Its Jobs and their pods are deleted too (background cascade).';
    case 'Pod':
      return o.metadata.ownerReferences?.some((r) => r.controller)
        ? `It is managed by ${o.metadata.ownerReferences.find((r) => r.controller)!.kind} ${o.metadata.ownerReferences.find((r) => r.controller)!.name}, which will create a replacement.`
        : 'It is not managed by a controller: it will not come back.';
    case 'Namespace':
      return 'Everything in the namespace is deleted with it.';
    default:
      return 'Objects it owns are deleted too (background cascade).';
  }
}

export function scale(ctx: string, o: KubeObject, replicas: number): Promise<KubeObject> {
  return clusterClient().scale(ctx, typeOf(o), o.metadata.namespace!, o.metadata.name, replicas);
}

export function restart(ctx: string, o: KubeObject): Promise<KubeObject> {
  return clusterClient().restart(ctx, typeOf(o), o.metadata.namespace!, o.metadata.name);
}

export function remove(ctx: string, o: KubeObject): Promise<KubeObject> {
  return clusterClient().delete(ctx, typeOf(o), o.metadata.namespace, o.metadata.name, 'Background');
}

export interface Revision {
  revision: number;
  replicaSet: KubeObject;
  images: string;
}

const REVISION = 'deployment.kubernetes.io/revision';

/** A Deployment's revisions: the ReplicaSets it controls, by their revision annotation, newest first. */
export async function revisions(ctx: string, d: KubeObject): Promise<Revision[]> {
  const sel = (d.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  const labelSelector = Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const rs = await clusterClient().list(ctx, RESOURCES.replicasets, d.metadata.namespace, { labelSelector });
  return rs.items
    .filter((r) => r.metadata.ownerReferences?.some((o) => o.controller && o.uid === d.metadata.uid))
    .map((r) => {
      const t = r.spec?.template as KubeObject | undefined;
      const cs = (t?.spec?.containers as { image?: string }[] | undefined) ?? [];
      return {
        revision: Number(r.metadata.annotations?.[REVISION] ?? 0),
        replicaSet: r,
        images: cs.map((c) => c.image ?? '').join(', '),
      };
    })
    .sort((a, b) => b.revision - a.revision);
}

/** `kubectl rollout undo --to-revision`: the revision's template (without pod-template-hash) written back. */
export function rollback(ctx: string, d: KubeObject, to: Revision): Promise<KubeObject> {
  // A JSON copy: the revision may be a reactive proxy, which structuredClone refuses.
  const template = JSON.parse(JSON.stringify(to.replicaSet.spec?.template ?? {})) as KubeObject;
  delete template.metadata?.labels?.['pod-template-hash'];
  return clusterClient().patch(
    ctx,
    RESOURCES.deployments,
    d.metadata.namespace,
    d.metadata.name,
    [{ op: 'replace', path: '/spec/template', value: template }],
    'json',
  );
}

export function applyYaml(ctx: string, o: KubeObject, yaml: string, force: boolean): Promise<KubeObject> {
  return clusterClient().apply(ctx, typeOf(o), o.metadata.namespace, o.metadata.name, yaml, force);
}

export interface RunInCluster {
  name: string;
  image: string;
  namespace: string;
  replicas: number;
  /** 0: no Service */
  port: number;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
}

/** "Run in cluster": a Deployment and, with a port, a Service selecting it (one dialog, as `kubectl create`). */
export async function runInCluster(ctx: string, r: RunInCluster): Promise<void> {
  const labels = { app: r.name };
  await clusterClient().create(ctx, RESOURCES.deployments, r.namespace, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: r.name, labels },
    spec: {
      replicas: r.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: r.name, image: r.image, ...(r.port ? { ports: [{ containerPort: r.port }] } : {}) },
          ],
        },
      },
    },
  });
  if (!r.port) return;
  await clusterClient().create(ctx, RESOURCES.services, r.namespace, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: r.name, labels },
    spec: { type: r.serviceType, selector: labels, ports: [{ port: r.port, targetPort: r.port }] },
  });
}

/** A DNS-1123 name from an image reference: `docker.io/library/nginx:1.27` → `nginx`. */
export function nameFromImage(image: string): string {
  const last = image.split('/').pop() ?? image;
  const base = last.split('@')[0].split(':')[0];
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'app'
  );
}

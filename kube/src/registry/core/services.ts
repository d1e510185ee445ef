/**
 * Services (DNS-1035 names, defaults, a cluster IP from 10.43.0.0/16 and node ports: service-alloc.ts,
 * kube-apiserver's columns) and Endpoints. The `kubernetes` Service holds 10.43.0.1 from the first start.
 */
import type { FieldError } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, at, col, formatLabels } from '../printing.js';
import { nameIsDNS1035Label } from '../validation/names.js';
import type { KubeObject, Strategy } from '../types.js';
import { allocateClusterIP, allocateHealthCheckNodePort, allocateNodePorts } from './service-alloc.js';

interface Port {
  name?: string;
  port?: number;
  protocol?: string;
  targetPort?: number | string;
  nodePort?: number;
}
interface Spec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  externalName?: string;
  ports?: Port[];
  selector?: Record<string, string>;
  [k: string]: unknown;
}

export { SERVICE_CIDR } from './service-alloc.js';
const specOf = (o: KubeObject) => (o.spec ?? {}) as Spec;

export const serviceStrategy: Strategy = {
  nameValidator: nameIsDNS1035Label,
  defaults(obj) {
    const s = (obj.spec ??= {}) as Spec;
    s.type ??= 'ClusterIP';
    s.sessionAffinity ??= 'None';
    for (const p of s.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    if (s.type !== 'ExternalName') {
      s.ipFamilies ??= ['IPv4'];
      s.ipFamilyPolicy ??= 'SingleStack';
      s.internalTrafficPolicy ??= 'Cluster';
    }
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
  },
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
    // A replace that leaves the cluster IP out keeps the allocated one (kube-apiserver's patchAllocatedValues).
    const s = specOf(obj);
    const o = specOf(old);
    if (
      !s.clusterIP &&
      !s.clusterIPs?.length &&
      o.clusterIP &&
      s.type !== 'ExternalName' &&
      o.type !== 'ExternalName'
    ) {
      s.clusterIP = o.clusterIP;
      s.clusterIPs = o.clusterIPs ?? [o.clusterIP];
    }
  },
  initialStatus: () => ({ loadBalancer: {} }),
  async beforeCreate(obj, ctx) {
    await allocateClusterIP(obj, ctx);
    await allocateNodePorts(obj, ctx);
    await allocateHealthCheckNodePort(obj, ctx);
  },
  async beforeUpdate(obj, old, ctx) {
    await allocateNodePorts(obj, ctx, old);
    await allocateHealthCheckNodePort(obj, ctx, old);
  },
  validate(obj) {
    const errs: FieldError[] = [];
    const s = specOf(obj);
    const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
    if (s.type && !types.includes(s.type))
      errs.push({
        type: 'FieldValueNotSupported',
        field: 'spec.type',
        badValue: s.type,
        detail: `supported values: ${types.map((t) => `"${t}"`).join(', ')}`,
      });
    // A headless Service (clusterIP None) may have no ports, as a StatefulSet's governing Service often does.
    const headless = (s.type ?? 'ClusterIP') === 'ClusterIP' && (s.clusterIPs?.[0] ?? s.clusterIP) === 'None';
    if (s.type !== 'ExternalName' && !headless && !(s.ports ?? []).length)
      errs.push({ type: 'FieldValueRequired', field: 'spec.ports' });
    for (const [i, p] of (s.ports ?? []).entries()) {
      if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535)
        errs.push({
          type: 'FieldValueInvalid',
          field: `spec.ports[${i}].port`,
          badValue: p.port ?? 0,
          detail: 'must be between 1 and 65535, inclusive',
        });
      if ((s.ports ?? []).length > 1 && !p.name)
        errs.push({ type: 'FieldValueRequired', field: `spec.ports[${i}].name` });
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const a = specOf(obj);
    const b = specOf(old);
    if (b.clusterIP && a.clusterIP !== b.clusterIP && a.type !== 'ExternalName')
      return [
        {
          type: 'FieldValueInvalid',
          field: 'spec.clusterIPs[0]',
          badValue: a.clusterIP ?? '',
          detail: 'may not change once set',
        },
      ];
    return [];
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Type', 'string', 0, 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 0, 'clusterIP is the IP address of the service.'),
      col(
        'External-IP',
        'string',
        0,
        'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      ),
      col('Port(s)', 'string', 0, 'The list of ports that are exposed by this service.'),
      AGE_COLUMN,
      col(
        'Selector',
        'string',
        1,
        'Route service traffic to pods with label keys and values matching this selector.',
      ),
    ],
    cells(o) {
      const s = specOf(o);
      const ports = (s.ports ?? [])
        .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`))
        .join(',');
      let external = (s.externalIPs ?? []).join(',') || '<none>';
      if (s.type === 'ExternalName') external = s.externalName ?? '<none>';
      if (s.type === 'LoadBalancer') {
        const ingress =
          (at(o, 'status.loadBalancer.ingress') as Array<{ ip?: string; hostname?: string }> | undefined) ??
          [];
        const ips = [...ingress.map((i) => i.ip || i.hostname || ''), ...(s.externalIPs ?? [])].filter(
          Boolean,
        );
        external = ips.length ? ips.join(',') : '<pending>';
      }
      return [
        o.metadata?.name,
        s.type ?? '',
        s.clusterIPs?.[0] ?? s.clusterIP ?? '<none>',
        external,
        ports || '<none>',
        age(o),
        formatLabels(s.selector),
      ];
    },
  },
};

interface Subset {
  addresses?: Array<{ ip: string }>;
  ports?: Array<{ port: number }>;
}

/** formatEndpoints(…, 3): "10.0.0.1:80,10.0.0.2:80 + 1 more..."; "<none>" when empty. */
function formatEndpoints(subsets: Subset[] | undefined): string {
  const all: string[] = [];
  for (const s of subsets ?? [])
    for (const a of s.addresses ?? [])
      for (const p of s.ports?.length ? s.ports : [undefined]) all.push(p ? `${a.ip}:${p.port}` : a.ip);
  if (!all.length) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

export const endpointsStrategy: Strategy = {
  allowCreateOnUpdate: true,
  table: {
    columns: [
      NAME_COLUMN,
      col('Endpoints', 'string', 0, 'The set of all endpoints is the union of all subsets.'),
      AGE_COLUMN,
    ],
    cells: (o) => [o.metadata?.name, formatEndpoints(o.subsets as Subset[] | undefined), age(o)],
  },
};

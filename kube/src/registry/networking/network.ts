/**
 * NetworkPolicies and EndpointSlices (Ingresses and IngressClasses: ingress.ts): networking.k8s.io/v1 and
 * discovery.k8s.io/v1 defaults, kube-apiserver's validation messages, and the columns of pkg/printers.
 */
import type { FieldError } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, at, col, formatSelector, str } from '../printing.js';
import { immutable, notSupported } from '../validation/fields.js';
import type { Strategy } from '../types.js';

type Obj = Record<string, unknown>;

/** "a,b,c + 2 more..." with at most three items (formatHosts and the discovery formatters). */
export function listWithMore(list: string[], total: number, empty: string): string {
  if (!list.length) return empty;
  return total > 3 ? `${list.slice(0, 3).join(',')} + ${total - 3} more...` : list.join(',');
}

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

function peerErrors(peers: Obj[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, peer] of (peers ?? []).entries()) {
    const p = `${path}[${i}]`;
    const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter(
      (k) => peer[k] !== undefined && peer[k] !== null,
    );
    if (!set.length) errs.push({ type: 'FieldValueRequired', field: p, detail: 'must specify a peer' });
    else if (set.includes('ipBlock') && set.length > 1)
      errs.push({
        type: 'FieldValueForbidden',
        field: p,
        detail: 'may not specify both ipBlock and another peer',
      });
    const cidr = at(peer, 'ipBlock.cidr');
    if (peer.ipBlock !== undefined) {
      if (!cidr) errs.push({ type: 'FieldValueRequired', field: `${p}.ipBlock.cidr` });
      else if (!CIDR.test(str(cidr)))
        errs.push({
          type: 'FieldValueInvalid',
          field: `${p}.ipBlock.cidr`,
          badValue: cidr,
          detail: 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        });
    }
  }
  return errs;
}

function portErrors(ports: Obj[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, port] of (ports ?? []).entries()) {
    const p = `${path}[${i}]`;
    errs.push(...notSupported(`${p}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
    if (typeof port.port === 'number' && (port.port < 1 || port.port > 65535))
      errs.push({
        type: 'FieldValueInvalid',
        field: `${p}.port`,
        badValue: port.port,
        detail: 'must be between 1 and 65535, inclusive',
      });
    if (port.endPort !== undefined) {
      if (port.port === undefined)
        errs.push({
          type: 'FieldValueRequired',
          field: `${p}.port`,
          detail: 'must be specified when endPort is specified',
        });
      else if (typeof port.port === 'string')
        errs.push({
          type: 'FieldValueInvalid',
          field: `${p}.port`,
          badValue: port.port,
          detail: 'must be a numerical port when endPort is specified',
        });
      else if (typeof port.endPort === 'number' && typeof port.port === 'number' && port.endPort < port.port)
        errs.push({
          type: 'FieldValueInvalid',
          field: `${p}.endPort`,
          badValue: port.endPort,
          detail: 'must be greater than or equal to `port`',
        });
    }
  }
  return errs;
}

export const networkPolicyStrategy: Strategy = {
  generation: 'spec',
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    for (const dir of ['ingress', 'egress'])
      for (const r of (spec[dir] as Obj[] | undefined) ?? [])
        for (const p of (r.ports as Obj[] | undefined) ?? []) p.protocol ??= 'TCP';
    if (!((spec.policyTypes as string[] | undefined) ?? []).length) {
      spec.policyTypes = ['Ingress'];
      if (((spec.egress as unknown[] | undefined) ?? []).length)
        (spec.policyTypes as string[]).push('Egress');
    }
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    for (const [i, r] of ((spec.ingress as Obj[] | undefined) ?? []).entries()) {
      errs.push(...portErrors(r.ports as Obj[] | undefined, `spec.ingress[${i}].ports`));
      errs.push(...peerErrors(r.from as Obj[] | undefined, `spec.ingress[${i}].from`));
    }
    for (const [i, r] of ((spec.egress as Obj[] | undefined) ?? []).entries()) {
      errs.push(...portErrors(r.ports as Obj[] | undefined, `spec.egress[${i}].ports`));
      errs.push(...peerErrors(r.to as Obj[] | undefined, `spec.egress[${i}].to`));
    }
    const types = (spec.policyTypes as string[] | undefined) ?? [];
    for (const [i, t] of types.entries())
      errs.push(...notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']));
    if (types.length > 2)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.policyTypes',
        badValue: types,
        detail: 'may not specify more than two policyTypes',
      });
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col(
        'Pod-Selector',
        'string',
        0,
        'podSelector selects the pods to which this NetworkPolicy object applies.',
      ),
      AGE_COLUMN,
    ],
    cells: (o) => [o.metadata?.name, formatSelector(at(o, 'spec.podSelector')), age(o)],
  },
};

export const endpointSliceStrategy: Strategy = {
  generation: 'nonStatus',
  defaults(obj) {
    for (const p of (obj.ports as Obj[] | undefined) ?? []) {
      p.name ??= '';
      p.protocol ??= 'TCP';
    }
  },
  validate(obj) {
    const errs: FieldError[] = [];
    const types = ['FQDN', 'IPv4', 'IPv6'];
    if (!obj.addressType) errs.push({ type: 'FieldValueRequired', field: 'addressType' });
    else errs.push(...notSupported('addressType', obj.addressType, types));
    for (const [i, e] of ((obj.endpoints as Obj[] | undefined) ?? []).entries()) {
      const addrs = (e.addresses as string[] | undefined) ?? [];
      if (!addrs.length)
        errs.push({
          type: 'FieldValueRequired',
          field: `endpoints[${i}].addresses`,
          detail: 'must contain at least 1 address',
        });
      else if (addrs.length > 100)
        errs.push({
          type: 'FieldValueTooMany',
          field: `endpoints[${i}].addresses`,
          badValue: addrs.length,
          detail: 'must have at most 100 items',
        });
    }
    for (const [i, p] of ((obj.ports as Obj[] | undefined) ?? []).entries())
      errs.push(...notSupported(`ports[${i}].protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
    return errs;
  },
  validateUpdate: (obj, old) => immutable('addressType', obj, old),
  table: {
    columns: [
      NAME_COLUMN,
      col(
        'AddressType',
        'string',
        0,
        'addressType specifies the type of address carried by this EndpointSlice.',
      ),
      col(
        'Ports',
        'string',
        0,
        'ports specifies the list of network ports exposed by each endpoint in this slice.',
      ),
      col('Endpoints', 'string', 0, 'endpoints is a list of unique endpoints in this slice.'),
      AGE_COLUMN,
    ],
    cells(o) {
      const ports = ((o.ports as Array<{ port?: number; name?: string }> | undefined) ?? []).map((p) =>
        p.port !== undefined && p.port !== null ? String(p.port) : (p.name ?? '*'),
      );
      const addrs = ((o.endpoints as Array<{ addresses?: string[] }> | undefined) ?? []).flatMap(
        (e) => e.addresses ?? [],
      );
      return [
        o.metadata?.name,
        str(o.addressType),
        listWithMore(ports.slice(0, 3), ports.length, '<unset>'),
        listWithMore(addrs.slice(0, 3), addrs.length, '<unset>'),
        age(o),
      ];
    },
  },
};

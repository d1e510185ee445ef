/**
 * Ingresses and IngressClasses (networking.k8s.io/v1): kube-apiserver 1.32's validation
 * (pkg/apis/networking/validation) with its field paths and messages, and the columns of pkg/printers.
 */
import { isIP } from 'node:net';
import type { FieldError } from '../../errors.js';
import { GoValue } from '../../errors.js';
import { AGE_COLUMN, NAME_COLUMN, age, at, col, str } from '../printing.js';
import { immutable, notSupported } from '../validation/fields.js';
import { isDNS1035Label, isDNS1123Subdomain, maxLenError, regexError } from '../validation/names.js';
import type { KubeObject, Strategy } from '../types.js';
import { listWithMore } from './network.js';

type Obj = Record<string, unknown>;

const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const WILDCARD_FMT = '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const WILDCARD_RE = new RegExp(`^${WILDCARD_FMT}$`);

/** validation.IsWildcardDNS1123Subdomain. */
function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!WILDCARD_RE.test(v))
    errs.push(
      regexError(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
        WILDCARD_FMT,
        '*.example.com',
      ),
    );
  return errs;
}

/** validation.IsValidPortName (IANA_SVC_NAME). */
function portNameErrors(name: string): string[] {
  const msgs: string[] = [];
  if (name.length > 15) msgs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name))
    msgs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) msgs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) msgs.push('must not contain consecutive hyphens');
  if (/^-|-$/.test(name)) msgs.push('must not begin or end with a hyphen');
  return msgs;
}

const invalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  badValue,
  detail,
});

function backendErrors(b: Obj | undefined, path: string): FieldError[] {
  const service = b?.service as Obj | undefined | null;
  const hasService = service !== undefined && service !== null;
  const hasResource = b?.resource !== undefined && b?.resource !== null;
  if (hasService && hasResource) return [invalid(path, '', 'cannot set both resource and service backends')];
  if (hasResource) {
    const r = b.resource as Obj;
    const errs: FieldError[] = [];
    if (!r.kind)
      errs.push({ type: 'FieldValueRequired', field: `${path}.resource.kind`, detail: 'kind is required' });
    if (!r.name)
      errs.push({ type: 'FieldValueRequired', field: `${path}.resource.name`, detail: 'name is required' });
    return errs;
  }
  if (!hasService) return [invalid(path, '', 'resource or service backend is required')];
  const errs: FieldError[] = [];
  const name = str(service.name);
  if (!name) errs.push({ type: 'FieldValueRequired', field: `${path}.service.name` });
  else for (const m of isDNS1035Label(name)) errs.push(invalid(`${path}.service.name`, name, m));
  const portName = str(at(service, 'port.name'));
  const portNumber = (at(service, 'port.number') as number | undefined) ?? 0;
  if (portName && portNumber) errs.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (portName)
    for (const m of portNameErrors(portName)) errs.push(invalid(`${path}.service.port.name`, portName, m));
  else if (portNumber) {
    if (portNumber < 1 || portNumber > 65535)
      errs.push(invalid(`${path}.service.port.number`, portNumber, 'must be between 1 and 65535, inclusive'));
  } else errs.push({ type: 'FieldValueRequired', field: path, detail: 'port name or number is required' });
  return errs;
}

function pathErrors(p: Obj, pp: string): FieldError[] {
  const pathType = p.pathType as string | undefined | null;
  if (pathType === undefined || pathType === null)
    return [{ type: 'FieldValueRequired', field: `${pp}.pathType`, detail: 'pathType must be specified' }];
  const errs: FieldError[] = [];
  const value = str(p.path);
  if (pathType === 'Exact' || pathType === 'Prefix') {
    if (!value.startsWith('/')) errs.push(invalid(`${pp}.path`, value, 'must be an absolute path'));
    for (const seq of INVALID_PATH_SEQUENCES)
      if (value.includes(seq)) errs.push(invalid(`${pp}.path`, value, `must not contain '${seq}'`));
    for (const suffix of INVALID_PATH_SUFFIXES)
      if (value.endsWith(suffix)) errs.push(invalid(`${pp}.path`, value, `cannot end with '${suffix}'`));
  } else if (pathType === 'ImplementationSpecific') {
    if (value && !value.startsWith('/')) errs.push(invalid(`${pp}.path`, value, 'must be an absolute path'));
  } else
    errs.push(...notSupported(`${pp}.pathType`, pathType, ['Exact', 'ImplementationSpecific', 'Prefix']));
  errs.push(...backendErrors(p.backend as Obj | undefined, `${pp}.backend`));
  return errs;
}

function hostErrors(host: string, field: string): FieldError[] {
  const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  return msgs.map((m) => invalid(field, host, m));
}

function ingressErrors(obj: KubeObject): FieldError[] {
  const spec = (obj.spec ?? {}) as Obj;
  const errs: FieldError[] = [];
  const rules = (spec.rules as Obj[] | undefined) ?? [];
  if (!rules.length && !spec.defaultBackend)
    errs.push(
      invalid(
        'spec',
        new GoValue('[]networking.IngressRule(nil)'),
        'either `defaultBackend` or `rules` must be specified',
      ),
    );
  if (spec.defaultBackend) errs.push(...backendErrors(spec.defaultBackend as Obj, 'spec.defaultBackend'));
  for (const [i, r] of rules.entries()) {
    const p = `spec.rules[${i}]`;
    const host = str(r.host);
    if (host) {
      if (isIP(host)) errs.push(invalid(`${p}.host`, host, 'must be a DNS name, not an IP address'));
      errs.push(...hostErrors(host, `${p}.host`));
    }
    if (r.http === undefined || r.http === null) continue;
    const paths = (at(r, 'http.paths') as Obj[] | undefined) ?? [];
    if (!paths.length) errs.push({ type: 'FieldValueRequired', field: `${p}.http.paths` });
    for (const [j, path] of paths.entries()) errs.push(...pathErrors(path, `${p}.http.paths[${j}]`));
  }
  for (const [i, t] of ((spec.tls as Obj[] | undefined) ?? []).entries()) {
    for (const [j, h] of ((t.hosts as string[] | undefined) ?? []).entries())
      errs.push(...hostErrors(h, `spec.tls[${i}].hosts[${j}]`));
    const secret = str(t.secretName);
    if (secret)
      for (const m of isDNS1123Subdomain(secret)) errs.push(invalid(`spec.tls[${i}].secretName`, secret, m));
  }
  if (typeof spec.ingressClassName === 'string')
    for (const m of isDNS1123Subdomain(spec.ingressClassName))
      errs.push(invalid('spec.ingressClassName', spec.ingressClassName, m));
  return errs;
}

/** ValidateIngressLoadBalancerStatus: addresses must be IPs, hostnames DNS names. */
function statusErrors(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const list = (at(obj, 'status.loadBalancer.ingress') as Obj[] | undefined) ?? [];
  for (const [i, e] of list.entries()) {
    const p = `status.loadBalancer.ingress[${i}]`;
    const ip = str(e.ip);
    if (ip && !isIP(ip))
      errs.push(invalid(`${p}.ip`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    const hostname = str(e.hostname);
    if (hostname) {
      for (const m of isDNS1123Subdomain(hostname)) errs.push(invalid(`${p}.hostname`, hostname, m));
      if (isIP(hostname))
        errs.push(invalid(`${p}.hostname`, hostname, 'must be a DNS name, not an IP address'));
    }
  }
  return errs;
}

export const ingressStrategy: Strategy = {
  generation: 'spec',
  initialStatus: () => ({ loadBalancer: {} }),
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  validate: ingressErrors,
  // Only validate is read for status writes (the generic store keeps everything but status itself).
  subresourceUpdates: { status: { prepare: (obj) => obj, validate: statusErrors } },
  table: {
    columns: [
      NAME_COLUMN,
      col(
        'Class',
        'string',
        0,
        'The name of the IngressClass resource that should be used for additional configuration',
      ),
      col('Hosts', 'string', 0, 'Hosts that incoming requests are matched against before the ingress rule'),
      col('Address', 'string', 0, 'Address is a list containing ingress points for the load-balancer'),
      col('Ports', 'string', 0, 'Ports of TLS configurations that open'),
      AGE_COLUMN,
    ],
    cells(o) {
      const rules = (at(o, 'spec.rules') as Obj[] | undefined) ?? [];
      const hosts = rules.map((r) => str(r.host)).filter(Boolean);
      const tls = (at(o, 'spec.tls') as unknown[] | undefined) ?? [];
      return [
        o.metadata?.name,
        at(o, 'spec.ingressClassName') ?? '<none>',
        listWithMore(hosts, rules.length, '*'),
        lbAddresses(o),
        tls.length ? '80, 443' : '80',
        age(o),
      ];
    },
  },
};

/** ingressLoadBalancerStatusStringer: sorted unique IPs/hostnames (kube-apiserver prints the wide form). */
function lbAddresses(o: KubeObject): string {
  const ingress =
    (at(o, 'status.loadBalancer.ingress') as Array<{ ip?: string; hostname?: string }> | undefined) ?? [];
  return [...new Set(ingress.map((i) => i.ip || i.hostname || '').filter(Boolean))].sort().join(',');
}

export const ingressClassStrategy: Strategy = {
  generation: 'spec',
  validate(obj) {
    const c = at(obj, 'spec.controller');
    if (!c) return [{ type: 'FieldValueRequired', field: 'spec.controller' }];
    if (typeof c === 'string' && c.length > 250)
      return [
        {
          type: 'FieldValueTooLong',
          field: 'spec.controller',
          badValue: c,
          detail: 'may not be more than 250 bytes',
        },
      ];
    return [];
  },
  validateUpdate: (obj, old) => immutable('spec.controller', obj, old),
  table: {
    columns: [
      NAME_COLUMN,
      col('Controller', 'string', 0, 'Controller that is responsible for handling this class'),
      col('Parameters', 'string', 0, 'A reference to a resource with additional parameters'),
      AGE_COLUMN,
    ],
    cells(o) {
      const p = at(o, 'spec.parameters') as { kind?: string; apiGroup?: string; name?: string } | undefined;
      const params = p
        ? `${p.kind ?? ''}${p.apiGroup !== undefined ? `.${p.apiGroup}` : ''}/${p.name ?? ''}`
        : '<none>';
      return [o.metadata?.name, str(at(o, 'spec.controller')), params, age(o)];
    },
  },
};

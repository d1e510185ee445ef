/**
 * Service environment variables as the kubelet makes them (pkg/kubelet/envvars and getServiceEnvVarMap): the
 * `kubernetes` Service of the default namespace always, the Services of the pod's own namespace when
 * enableServiceLinks is not false; for each one with a cluster IP, FOO_SERVICE_HOST/_PORT, a variable per named
 * port, and the Docker link variables (FOO_PORT, FOO_PORT_80_TCP, ..._PROTO, ..._PORT, ..._ADDR).
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Pod, Wire } from './types.js';

export type Service = Wire<V1Service>;

const envName = (s: string): string => s.toUpperCase().replace(/-/g, '_');

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function serviceVariables(svc: Service): Array<[string, string]> {
  const ip = svc.spec?.clusterIP;
  const ports = svc.spec?.ports ?? [];
  if (!ip || ip === 'None' || !ports.length) return [];
  const prefix = envName(svc.metadata?.name ?? '');
  const out: Array<[string, string]> = [
    [`${prefix}_SERVICE_HOST`, ip],
    [`${prefix}_SERVICE_PORT`, String(ports[0].port)],
  ];
  for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  ports.forEach((p, i) => {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    const url = `${proto}://${hostPort(ip, p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([pp, url], [`${pp}_PROTO`, proto], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
  });
  return out;
}

/** The variables for `pod` from every Service the kubelet knows. */
export function serviceEnv(pod: Pod, services: Iterable<Service>): Record<string, string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const links = pod.spec?.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const s of services) {
    const name = s.metadata?.name ?? '';
    const sns = s.metadata?.namespace ?? 'default';
    if (sns === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, s);
    } else if (sns === ns && links) chosen.set(name, s);
  }
  const out: Record<string, string> = {};
  for (const name of [...chosen.keys()].sort())
    for (const [k, v] of serviceVariables(chosen.get(name)!)) out[k] = v;
  return out;
}

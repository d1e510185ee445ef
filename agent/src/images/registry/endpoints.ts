/** Where a registry domain is reached: mirrors first for docker.io, plain HTTP only for insecure and loopback. */
import net from 'node:net';
import { DEFAULT_DOMAIN } from '../reference.js';

export interface EndpointConfig {
  registryMirrors: string[];
  insecureRegistries: string[];
}

export interface Endpoint {
  base: URL;
  mirror: boolean;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1);
  const i = hostPort.lastIndexOf(':');
  return i > 0 ? hostPort.slice(0, i) : hostPort;
}

export function isInsecure(domain: string, cfg: EndpointConfig): boolean {
  const host = hostOnly(domain);
  return (
    isLoopback(host) ||
    cfg.insecureRegistries.some(
      (r) => r === domain || r === host || r.replace(/^https?:\/\//, '').replace(/\/+$/, '') === domain,
    )
  );
}

export function endpointsFor(domain: string, cfg: EndpointConfig): Endpoint[] {
  if (domain === DEFAULT_DOMAIN) {
    return [
      ...cfg.registryMirrors.map((m) => ({ base: new URL(m), mirror: true })),
      { base: new URL('https://registry-1.docker.io'), mirror: false },
    ];
  }
  return [{ base: new URL(`${isInsecure(domain, cfg) ? 'http' : 'https'}://${domain}`), mirror: false }];
}

/** `docker login` server addresses: `https://index.docker.io/v1/`, `host:port`, `http://host:port`. */
export function loginDomain(serveraddress: string | undefined): string {
  const s = (serveraddress ?? '').trim();
  if (s === '' || /^(https?:\/\/)?(index\.)?docker\.io(\/.*)?$/.test(s) || /registry-1\.docker\.io/.test(s))
    return DEFAULT_DOMAIN;
  return s.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

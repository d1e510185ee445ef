/** The run dialog's text fields → a container create body (pure; tested). */
import type { ContainerCreateRequest } from '../api/pending-types.js';

/** `8080:80`, `127.0.0.1:8080:80/tcp` or `80` → ExposedPorts + PortBindings. */
export function parsePorts(spec: string[]): Pick<ContainerCreateRequest, 'ExposedPorts'> & { bindings: NonNullable<ContainerCreateRequest['HostConfig']>['PortBindings'] } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const p of spec) {
    const [addr, proto = 'tcp'] = p.split('/');
    const parts = addr!.split(':');
    const container = parts.pop()!;
    if (!/^\d+$/.test(container)) throw new Error(`invalid port mapping: ${p}`);
    const key = `${container}/${proto}`;
    exposed[key] = {};
    const hostPort = parts.pop();
    const hostIp = parts.pop();
    if (hostPort !== undefined) (bindings[key] ??= []).push({ HostIp: hostIp ?? '', HostPort: hostPort });
  }
  return { ExposedPorts: exposed, bindings };
}

/**
 * The pod sandbox: one berth-pause container per pod holding its network, IPC and UTS namespaces (hostname = pod
 * name), on the pod bridge network, with hostPort bindings and the pod's DNS; cri-dockerd's names and labels.
 * The pod network itself is an ordinary engine bridge network, created (idempotently) through the Engine API.
 */
import type { ContainerCreateRequest, ContainerInspect } from '@berth/common/api/containers';
import type { PortMap } from '@berth/common/api/networks';
import type { EngineClient } from './engine/client.js';
import { isEngineError } from './engine/http.js';
import type { PodInputs } from './inputs.js';
import { sandboxLabels, sandboxName } from './naming.js';
import { SANDBOX_OOM_SCORE_ADJ } from './security.js';
import type { Pod } from './types.js';

export interface PodNetworkConfig {
  /** Engine network name (default berth-pods). */
  name: string;
  /** Pod CIDR (the product default 10.42.0.0/16). */
  subnet: string;
  gateway?: string;
}

export const DEFAULT_POD_NETWORK: PodNetworkConfig = { name: 'berth-pods', subnet: '10.42.0.0/16' };

/** Creates the pod network when missing; an existing one with another subnet is an error the user must resolve. */
export async function ensurePodNetwork(engine: EngineClient, cfg: PodNetworkConfig): Promise<string> {
  const existing = await engine.networkInspect(cfg.name);
  if (existing) {
    const subnets = (existing.IPAM.Config ?? []).map((c) => c.Subnet);
    if (!subnets.includes(cfg.subnet))
      throw new Error(
        `network ${cfg.name} exists with subnet ${subnets.join(',') || 'none'}, not the pod CIDR ${cfg.subnet}: remove it (docker network rm ${cfg.name}) or configure another pod network name`,
      );
    return existing.Id;
  }
  try {
    const r = await engine.networkCreate({
      Name: cfg.name,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Config: [{ Subnet: cfg.subnet, ...(cfg.gateway ? { Gateway: cfg.gateway } : {}) }] },
      Labels: { 'io.berth.kube': 'pod-network' },
    });
    return r.Id;
  } catch (err) {
    // Another caller created it meanwhile.
    if (isEngineError(err, 409)) return (await engine.networkInspect(cfg.name))!.Id;
    throw err;
  }
}

/** hostPort bindings of all the pod's containers (cri-dockerd's MakePortsAndBindings). */
export function portBindings(pod: Pod): { exposed: Record<string, object>; bindings: PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: PortMap = {};
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIP ?? '', HostPort: String(p.hostPort) });
    }
  }
  return { exposed, bindings };
}

/** dnsPolicy and dnsConfig as the sandbox's resolv.conf (engine Dns/DnsSearch/DnsOptions). */
export function dnsFor(
  pod: Pod,
  inputs: PodInputs,
): { Dns?: string[]; DnsSearch?: string[]; DnsOptions?: string[] } {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const ns = pod.metadata?.namespace ?? 'default';
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const cluster = inputs.clusterDns;
  const clusterFirst =
    policy === 'ClusterFirst' || (policy === 'ClusterFirstWithHostNet' && pod.spec?.hostNetwork);
  if (clusterFirst && !(policy === 'ClusterFirst' && pod.spec?.hostNetwork) && cluster) {
    servers = cluster.servers;
    searches = [`${ns}.svc.${cluster.domain}`, `svc.${cluster.domain}`, cluster.domain];
    options = ['ndots:5'];
  }
  if (policy === 'None') {
    servers = [];
    searches = [];
    options = [];
  }
  const dc = pod.spec?.dnsConfig;
  if (dc) {
    servers = [...servers, ...(dc.nameservers ?? [])];
    searches = [...searches, ...(dc.searches ?? [])];
    for (const o of dc.options ?? []) {
      const s = o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? '');
      const name = s.split(':')[0];
      options = [...options.filter((x) => x.split(':')[0] !== name), s];
    }
  }
  return {
    ...(servers.length ? { Dns: servers } : {}),
    ...(searches.length ? { DnsSearch: searches } : {}),
    ...(options.length ? { DnsOptions: options } : {}),
  };
}

export interface SandboxSpec {
  pod: Pod;
  attempt: number;
  pauseImage: string;
  network: string;
  inputs: PodInputs;
}

export function sandboxCreateRequest(s: SandboxSpec): ContainerCreateRequest {
  const { pod } = s;
  const spec = pod.spec ?? { containers: [] };
  const hostNet = spec.hostNetwork === true;
  const { exposed, bindings } = portBindings(pod);
  const sysctls = Object.fromEntries((spec.securityContext?.sysctls ?? []).map((x) => [x.name, x.value]));
  return {
    Image: s.pauseImage,
    ...(hostNet ? {} : { Hostname: spec.hostname ?? pod.metadata!.name! }),
    ...(spec.subdomain && !hostNet
      ? {
          Domainname: `${spec.subdomain}.${pod.metadata?.namespace ?? 'default'}.svc.${s.inputs.clusterDns?.domain ?? 'cluster.local'}`,
        }
      : {}),
    Labels: sandboxLabels(pod),
    ...(Object.keys(exposed).length && !hostNet ? { ExposedPorts: exposed } : {}),
    HostConfig: {
      NetworkMode: hostNet ? 'host' : s.network,
      IpcMode: spec.hostIPC ? 'host' : 'shareable',
      ...(spec.hostPID ? { PidMode: 'host' } : {}),
      ...(hostNet ? { UTSMode: 'host' } : {}),
      ...(Object.keys(bindings).length && !hostNet ? { PortBindings: bindings } : {}),
      RestartPolicy: { Name: 'no' },
      OomScoreAdj: SANDBOX_OOM_SCORE_ADJ,
      SecurityOpt: ['no-new-privileges'],
      ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
      ...(hostNet ? {} : dnsFor(pod, s.inputs)),
    },
  };
}

/** Creates and starts the sandbox; returns its inspect. A failure removes what was created. */
export async function runSandbox(engine: EngineClient, s: SandboxSpec): Promise<ContainerInspect> {
  const name = sandboxName(s.pod, s.attempt);
  const { Id } = await engine.containerCreate(name, sandboxCreateRequest(s));
  try {
    await engine.containerStart(Id);
    const info = await engine.containerInspect(Id);
    if (!info?.State.Running)
      throw new Error(`pod sandbox ${name} exited at once: ${info?.State.Error ?? ''}`);
    return info;
  } catch (err) {
    await engine.containerRemove(Id, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The sandbox's IP on the pod network ('' for hostNetwork, where the pod IP is the host's). */
export function sandboxIP(info: ContainerInspect, network: string): string {
  return info.NetworkSettings?.Networks?.[network]?.IPAddress ?? '';
}

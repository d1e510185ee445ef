/**
 * Turns a container's network request into a plan (mode + ordered attachments), validating it as dockerd
 * does at create time: unknown networks 404, conflicting options 400.
 */
import { randomBytes } from 'node:crypto';
import type { EndpointSettings } from '@berth/common';
import { badParameter, notFound } from '../errors.js';
import { isValidMac, parseIp } from './ipv4.js';
import { parseIp6 } from './ipv6.js';
import type { NetworkManager } from './manager.js';
import { portRequests } from './ports.js';
import type { Attachment, ContainerRecord, ModeState, NetworkRecord } from './state.js';
import type { ContainerNetworkRequest } from './types.js';

export const endpointId = (): string => randomBytes(32).toString('hex');

/** Finds a network by id, name or unique id prefix; 404 as dockerd words it. */
export function requireNetwork(m: NetworkManager, ref: string): NetworkRecord {
  const n = m.store.findNetwork(ref);
  if (!n) throw notFound(`network ${ref} not found`);
  return n;
}

/** 'name:ip' (ip may be IPv6 or 'host-gateway'); dockerd also accepts 'name=ip'. */
export function parseExtraHost(s: string): { name: string; ip: string } {
  const sep = s.indexOf('=') > 0 ? s.indexOf('=') : s.indexOf(':');
  const name = s.slice(0, sep);
  const ip = s.slice(sep + 1);
  if (
    sep <= 0 ||
    !name ||
    !ip ||
    (ip !== 'host-gateway' && parseIp(ip) === undefined && !/^[0-9a-fA-F:]+$/.test(ip))
  ) {
    throw badParameter(`invalid IP address in add-host: "${ip || s}"`);
  }
  return { name, ip };
}

export function attachmentFor(
  m: NetworkManager,
  n: NetworkRecord,
  cfg: EndpointSettings | undefined,
  fallbackMac?: string,
): Attachment {
  const aliases = [...new Set(cfg?.Aliases ?? [])].filter((a) => a !== '');
  const ipv4 = cfg?.IPAMConfig?.IPv4Address || undefined;
  const ipv6 = cfg?.IPAMConfig?.IPv6Address || undefined;
  const mac = cfg?.MacAddress || fallbackMac || undefined;
  if (aliases.length && !m.isUserNetwork(n))
    throw badParameter('network-scoped alias is supported only for containers in user defined networks');
  if (ipv4 !== undefined) {
    if (!m.isUserNetwork(n) || !n.ipam.config[0]?.Subnet || n.autoSubnet) {
      throw badParameter(
        'user specified IP address is supported only when connecting to networks with user configured subnets',
      );
    }
    if (parseIp(ipv4) === undefined) throw badParameter(`invalid IPv4 address: ${ipv4}`);
  }
  // --ip6 is checked against the subnet when the container starts (an address outside it is refused then,
  // as dockerd does); on a network without IPv6 dockerd keeps it and gives no address.
  if (ipv6 !== undefined && parseIp6(ipv6) === undefined) throw badParameter(`invalid IPv6 address: ${ipv6}`);
  if (mac !== undefined && !isValidMac(mac)) throw badParameter(`invalid MAC address: ${mac}`);
  return {
    networkId: n.id,
    endpointId: endpointId(),
    aliases,
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    ...(mac ? { mac } : {}),
    links: cfg?.Links ?? [],
    driverOpts: cfg?.DriverOpts ?? {},
  };
}

export function planContainer(m: NetworkManager, req: ContainerNetworkRequest): ContainerRecord {
  for (const h of req.extraHosts) parseExtraHost(h);
  for (const d of req.dns)
    if (parseIp(d) === undefined && !/^[0-9a-fA-F:]+$/.test(d))
      throw badParameter(`${d} is not an ip address`);
  // Validates port specs whatever the mode (dockerd rejects malformed ones at create).
  const ports = portRequests(req.portBindings, false, req.exposedPorts);
  const endpoints = req.endpoints ?? {};
  const modeRef = req.networkMode === '' || req.networkMode === 'default' ? 'bridge' : req.networkMode;
  let mode: ModeState;
  const attachments: Attachment[] = [];

  if (modeRef === 'host' || modeRef === 'none' || modeRef.startsWith('container:')) {
    const others = Object.keys(endpoints).filter((k) => k !== modeRef);
    if (others.length)
      throw badParameter(
        'Container cannot be connected to network endpoints other than its network mode; use --network once',
      );
    if (modeRef.startsWith('container:')) {
      const ref = modeRef.slice('container:'.length);
      const target = m.lookup?.find(ref);
      if (!target) throw notFound(`No such container: ${ref}`);
      if (target.id === req.id) throw badParameter('cannot join own network namespace');
      if (ports.length || req.publishAllPorts)
        throw badParameter('conflicting options: port publishing and the container type network mode');
      if (req.extraHosts.length)
        throw badParameter('conflicting options: custom host-to-IP mapping and the network mode');
      if (req.dns.length) throw badParameter('conflicting options: dns and the network mode');
      if (req.macAddress) throw badParameter('conflicting options: mac-address and the network mode');
      mode = { kind: 'container', containerId: target.id };
    } else {
      if (req.macAddress && modeRef === 'host')
        throw badParameter('conflicting options: mac-address and the network mode');
      mode = { kind: modeRef as 'host' | 'none' };
    }
  } else {
    const first = requireNetwork(m, modeRef);
    if (first.driver === 'host' || first.driver === 'null')
      return planContainer(m, { ...req, networkMode: first.name });
    mode = { kind: 'bridge' };
    const cfgFor = (n: NetworkRecord): EndpointSettings | undefined =>
      endpoints[n.name] ??
      endpoints[n.id] ??
      Object.entries(endpoints).find(([k]) => n.id.startsWith(k))?.[1];
    attachments.push(attachmentFor(m, first, cfgFor(first), req.macAddress));
    for (const [ref, cfg] of Object.entries(endpoints)) {
      const n = requireNetwork(m, ref);
      if (n.id === first.id) continue;
      if (n.driver !== 'bridge')
        throw badParameter(`container cannot be connected to ${n.name} and ${first.name} at once`);
      attachments.push(attachmentFor(m, n, cfg));
    }
  }
  return { req, mode, attachments };
}

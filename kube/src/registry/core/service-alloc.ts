/**
 * A Service's cluster IP (from the service CIDR) and node ports (30000-32767), allocated and checked as
 * kube-apiserver's service REST storage does, with its error texts. What is in use is read from the Services
 * that exist; addresses handed out in the last moments are held back too, so two creates racing between the
 * allocation and the write cannot get the same one (one API server owns the store).
 */
import { goStrings, invalid, type FieldError } from '../../errors.js';
import type { KubeObject, StrategyContext } from '../types.js';

export const SERVICE_CIDR = { base: [10, 43, 0, 0], bits: 16 };
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };
const HOLD_MS = 10_000;

interface Port {
  nodePort?: number;
}
interface Spec {
  type?: string;
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: Port[];
}
const specOf = (o: KubeObject) => (o.spec ?? {}) as Spec;

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const isIPv4 = (s: string) =>
  /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split('.').every((p) => Number(p) < 256);

/** Recently handed-out values, not yet visible in a list. */
const held = { ips: new Map<string, number>(), ports: new Map<number, number>() };
function hold<K>(m: Map<K, number>, k: K): void {
  const now = Date.now();
  for (const [x, t] of m) if (t < now) m.delete(x);
  m.set(k, now + HOLD_MS);
}
const isHeld = <K>(m: Map<K, number>, k: K) => (m.get(k) ?? 0) > Date.now();

export const needsNodePorts = (s: Spec) => s.type === 'NodePort' || s.type === 'LoadBalancer';
const cidrText = () => `${SERVICE_CIDR.base.join('.')}/${SERVICE_CIDR.bits}`;

async function others(ctx: StrategyContext, self: KubeObject): Promise<KubeObject[]> {
  if (!ctx.read) return [];
  const uid = self.metadata?.uid;
  const all = await ctx.read.list('v1', 'services');
  return all.filter(
    (o) =>
      (uid ? o.metadata?.uid !== uid : true) &&
      !(o.metadata?.namespace === self.metadata?.namespace && o.metadata?.name === self.metadata?.name),
  );
}

/** Assigns (or checks the requested) cluster IP of a Service being created. */
export async function allocateClusterIP(obj: KubeObject, ctx: StrategyContext): Promise<void> {
  const s = specOf(obj);
  if (s.type === 'ExternalName' || s.clusterIP === 'None') {
    if (s.clusterIP === 'None') s.clusterIPs = ['None'];
    return;
  }
  const used = new Set(
    (await others(ctx, obj)).flatMap((o) => specOf(o).clusterIPs ?? [specOf(o).clusterIP ?? '']),
  );
  const base = ipToInt(SERVICE_CIDR.base.join('.'));
  const size = 2 ** (32 - SERVICE_CIDR.bits);
  const requested = s.clusterIP || s.clusterIPs?.[0];
  const fail = (ip: string, why: string) =>
    invalid('Service', obj.metadata?.name ?? '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        badValue: goStrings(s.clusterIPs?.length ? s.clusterIPs : [ip]),
        detail: `failed to allocate IP ${ip}: ${why}`,
      },
    ]);
  if (requested) {
    const n = isIPv4(requested) ? ipToInt(requested) - base : -1;
    // The network address and the broadcast address are never a Service's.
    if (n <= 0 || n >= size - 1)
      throw fail(
        requested,
        `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${cidrText()}`,
      );
    if (used.has(requested) || isHeld(held.ips, requested))
      throw fail(requested, 'provided IP is already allocated');
    hold(held.ips, requested);
    s.clusterIP = requested;
    s.clusterIPs = [requested];
    return;
  }
  // .0.1 is the kubernetes Service's (bootstrap asks for it by address).
  for (let i = 2; i < size - 1; i++) {
    const ip = intToIp(base + i);
    if (used.has(ip) || isHeld(held.ips, ip)) continue;
    hold(held.ips, ip);
    s.clusterIP = ip;
    s.clusterIPs = [ip];
    return;
  }
  throw invalid('Service', obj.metadata?.name ?? '', [
    {
      type: 'FieldValueInvalid',
      field: 'spec.clusterIPs',
      badValue: goStrings([]),
      detail: `failed to allocate a serviceIP: range is full`,
    },
  ]);
}

/** Node ports other Services hold, health-check ones included (one allocator for both, as kube-apiserver's). */
async function usedNodePorts(ctx: StrategyContext, obj: KubeObject): Promise<Set<number>> {
  return new Set(
    (await others(ctx, obj)).flatMap((o) => [
      ...(specOf(o).ports ?? []).map((p) => p.nodePort ?? 0),
      specOf(o).healthCheckNodePort ?? 0,
    ]),
  );
}

function randomFreePort(used: Set<number>, taken: Set<number>): number | undefined {
  // Random, as kube-apiserver's allocator, so deleting and re-creating a Service does not reuse at once.
  const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
  const start = Math.floor(Math.random() * size);
  for (let k = 0; k < size; k++) {
    const port = NODE_PORT_RANGE.min + ((start + k) % size);
    if (used.has(port) || taken.has(port) || isHeld(held.ports, port)) continue;
    hold(held.ports, port);
    return port;
  }
  return undefined;
}

const needsHealthCheck = (s: Spec) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';

/**
 * `spec.healthCheckNodePort` of a LoadBalancer Service with externalTrafficPolicy Local: the requested one
 * checked, else the old one kept, else one allocated; dropped when the Service stops needing it (kube-apiserver's
 * healthCheckNodePort handling), and refused on a Service that never needed it.
 */
export async function allocateHealthCheckNodePort(
  obj: KubeObject,
  ctx: StrategyContext,
  old?: KubeObject,
): Promise<void> {
  const s = specOf(obj);
  const was = old ? specOf(old).healthCheckNodePort : undefined;
  const name = obj.metadata?.name ?? '';
  if (!needsHealthCheck(s)) {
    if (s.healthCheckNodePort === undefined || s.healthCheckNodePort === was) {
      // Free at once: until this update is written the old object still holds it in the list.
      if (was !== undefined) held.ports.delete(was);
      delete s.healthCheckNodePort;
      return;
    }
    throw invalid('Service', name, [
      {
        type: 'FieldValueInvalid',
        field: 'spec.healthCheckNodePort',
        badValue: s.healthCheckNodePort,
        detail: "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      },
    ]);
  }
  s.healthCheckNodePort ??= was;
  const used = await usedNodePorts(ctx, obj);
  const own = new Set((s.ports ?? []).map((p) => p.nodePort ?? 0));
  const hc = s.healthCheckNodePort;
  if (hc !== undefined) {
    const range = `${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`;
    const bad = (detail: string) =>
      invalid('Service', name, [
        { type: 'FieldValueInvalid', field: 'spec.healthCheckNodePort', badValue: hc, detail },
      ]);
    if (hc < NODE_PORT_RANGE.min || hc > NODE_PORT_RANGE.max)
      throw bad(`provided port is not in the valid range. The range of valid ports is ${range}`);
    if (used.has(hc) || own.has(hc) || (hc !== was && isHeld(held.ports, hc)))
      throw bad('provided port is already allocated');
    if (hc !== was) hold(held.ports, hc);
    return;
  }
  const port = randomFreePort(used, own);
  if (!port)
    throw invalid('Service', name, [
      { type: 'FieldValueInvalid', field: 'spec.healthCheckNodePort', badValue: 0, detail: 'range is full' },
    ]);
  s.healthCheckNodePort = port;
}

/**
 * Node ports for a NodePort or LoadBalancer Service: requested ones checked (range, taken by another Service),
 * missing ones allocated; a Service that stops needing them loses them. `old` on update: its ports stay its own.
 */
export async function allocateNodePorts(
  obj: KubeObject,
  ctx: StrategyContext,
  old?: KubeObject,
): Promise<void> {
  const s = specOf(obj);
  if (!needsNodePorts(s)) {
    for (const p of s.ports ?? []) delete p.nodePort;
    return;
  }
  const used = await usedNodePorts(ctx, obj);
  const oldPorts = (old ? (specOf(old).ports ?? []) : []) as Array<
    Port & { port?: number; protocol?: string }
  >;
  const mine = new Set(oldPorts.map((p) => p.nodePort ?? 0));
  // An update that leaves a node port out keeps the one the same port had (kube-apiserver's patchAllocatedValues).
  if (old && needsNodePorts(specOf(old)))
    for (const p of (s.ports ?? []) as Array<Port & { port?: number; protocol?: string }>) {
      const kept = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (!p.nodePort && kept?.nodePort) p.nodePort = kept.nodePort;
    }
  const errs: FieldError[] = [];
  const taken = new Set<number>();
  const range = `${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`;
  for (const [i, p] of (s.ports ?? []).entries()) {
    if (!p.nodePort) continue;
    const field = `spec.ports[${i}].nodePort`;
    if (p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max)
      errs.push({
        type: 'FieldValueInvalid',
        field,
        badValue: p.nodePort,
        detail: `provided port is not in the valid range. The range of valid ports is ${range}`,
      });
    else if (used.has(p.nodePort) || (!mine.has(p.nodePort) && isHeld(held.ports, p.nodePort)))
      errs.push({
        type: 'FieldValueInvalid',
        field,
        badValue: p.nodePort,
        detail: 'provided port is already allocated',
      });
    taken.add(p.nodePort);
  }
  if (errs.length) throw invalid('Service', obj.metadata?.name ?? '', errs);
  for (const p of s.ports ?? []) {
    if (p.nodePort) {
      if (!mine.has(p.nodePort)) hold(held.ports, p.nodePort);
      continue;
    }
    const port = randomFreePort(used, taken);
    if (port) {
      p.nodePort = port;
      taken.add(port);
    }
    if (!p.nodePort)
      throw invalid('Service', obj.metadata?.name ?? '', [
        { type: 'FieldValueInvalid', field: 'spec.ports', badValue: 0, detail: 'range is full' },
      ]);
  }
}

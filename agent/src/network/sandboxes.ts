/**
 * Containers' networking (the ContainerNetworking contract): a netns per container, one veth endpoint per
 * attached bridge network, addresses from IPAM, the DNS redirect, published ports; connect/disconnect live.
 * Every setup is a list of ensure-steps rolled back on failure, with addresses released.
 */
import { randomBytes } from 'node:crypto';
import type { EndpointSettings, NetworkSettings, Port } from '@berth/common';
import { badParameter, conflict, forbidden, notFound } from '../errors.js';
import { attachmentFor, planContainer, requireNetwork } from './attach-plan.js';
import { formatIp, macForIp, parseIp } from './ipv4.js';
import { newId, type NetworkManager } from './manager.js';
import { portRequests } from './ports.js';
import { SandboxViews } from './sandbox-views.js';
import type { Attachment, ContainerRecord, EndpointState, NetworkRecord, SandboxState } from './state.js';
import {
  dnsRedirectStep,
  netnsStep,
  removeDnsRedirect,
  runSteps,
  tolerateMissing,
  vethSteps,
  type Step,
} from './steps.js';
import type { ContainerNetworking, ContainerNetworkRequest, EtcFiles, SandboxSetup } from './types.js';

export class Sandboxes implements ContainerNetworking {
  private readonly views: SandboxViews;

  constructor(private readonly m: NetworkManager) {
    this.views = new SandboxViews(m);
  }

  private get store() {
    return this.m.store;
  }

  private record(id: string): ContainerRecord {
    const rec = this.store.containers.get(id);
    if (!rec) throw notFound(`No such container: ${id}`);
    return rec;
  }

  async register(req: ContainerNetworkRequest): Promise<void> {
    await this.m.locked(async () => {
      const rec = planContainer(this.m, req);
      const old = this.store.containers.get(req.id);
      if (old?.sandbox) rec.sandbox = old.sandbox;
      this.store.containers.set(req.id, rec);
      await this.store.saveContainers();
    });
  }

  async unregister(id: string): Promise<void> {
    await this.m.locked(async () => {
      const rec = this.store.containers.get(id);
      if (!rec) return;
      if (rec.sandbox) await this.teardownLocked(id, rec);
      this.store.containers.delete(id);
      await this.store.saveContainers();
    });
  }

  async setUp(id: string): Promise<SandboxSetup> {
    return this.m.locked(async () => {
      const rec = this.record(id);
      if (rec.sandbox) await this.teardownLocked(id, rec);
      const net = await this.setUpLocked(id, rec);
      return { net, etc: this.etcFiles(rec) };
    });
  }

  async setLinks(id: string, links: string[]): Promise<void> {
    await this.m.locked(async () => {
      const rec = this.record(id);
      rec.req = { ...rec.req, links };
      await this.store.saveContainers();
      if (rec.sandbox) await this.rewriteEtc(id, rec);
    });
  }

  async tearDown(id: string): Promise<void> {
    await this.m.locked(async () => {
      const rec = this.store.containers.get(id);
      if (rec?.sandbox) await this.teardownLocked(id, rec);
    });
  }

  networkMode(id: string): string {
    const rec = this.store.containers.get(id);
    const mode = rec?.req.networkMode ?? 'default';
    return mode === '' ? 'bridge' : mode;
  }

  private async setUpLocked(id: string, rec: ContainerRecord): Promise<SandboxSetup['net']> {
    const m = this.m;
    switch (rec.mode.kind) {
      case 'host':
        rec.sandbox = { id: newId(), endpoints: [], ports: [] };
        await this.store.saveContainers();
        return { mode: 'host' };
      case 'container': {
        const target = this.store.containers.get(rec.mode.containerId);
        if (!target?.sandbox)
          throw conflict(
            `cannot join network namespace of a non running container: ${rec.mode.containerId.slice(0, 12)}`,
          );
        rec.sandbox = { id: target.sandbox.id, endpoints: [], ports: [] };
        await this.store.saveContainers();
        return target.sandbox.netns
          ? { mode: 'join', path: m.kernel.netnsPath(target.sandbox.netns) }
          : { mode: 'host' };
      }
      case 'none': {
        const netns = m.names.netnsFor(id);
        await runSteps([netnsStep(m.kernel, netns)], m.log);
        rec.sandbox = { id: newId(), netns, endpoints: [], ports: [] };
        await this.store.saveContainers();
        return { mode: 'join', path: m.kernel.netnsPath(netns) };
      }
      case 'bridge':
        break;
    }
    const netns = m.names.netnsFor(id);
    const sandbox: SandboxState = { id: newId(), netns, endpoints: [], ports: [] };
    const steps: Step[] = [netnsStep(m.kernel, netns, rec.attachments.length === 0)];
    const allocated: EndpointState[] = [];
    try {
      let gatewayDone = false;
      for (const [i, att] of rec.attachments.entries()) {
        const n = requireNetwork(m, att.networkId);
        const { ep, steps: s } = this.endpointPlan(id, n, att, netns, `eth${i}`, !gatewayDone && !n.internal);
        allocated.push(ep);
        if (!n.internal) gatewayDone = true;
        sandbox.endpoints.push(ep);
        steps.push(...s);
      }
      const dnsStep = this.dnsStep(netns, sandbox.endpoints);
      if (dnsStep) steps.push(dnsStep);
      const reqs = portRequests(rec.req.portBindings, rec.req.publishAllPorts, rec.req.exposedPorts);
      const target = this.portTarget(sandbox.endpoints);
      if (reqs.length && target) {
        steps.push({
          name: 'reservePorts',
          run: async () => {
            sandbox.ports = await m.ports.reserve(id, reqs, target);
          },
          undo: async () => m.ports.release(id),
        });
      }
      await runSteps(steps, m.log);
      rec.sandbox = sandbox;
      for (const ep of sandbox.endpoints) {
        const n = this.store.networks.get(ep.networkId);
        if (n) m.publish('connect', n, { container: id });
      }
      try {
        await m.ipam.save();
        await m.ipam6.save();
        await this.store.saveContainers();
        if (sandbox.ports.length) await m.applyRules();
      } catch (err) {
        await this.teardownLocked(id, rec);
        throw err;
      }
      return { mode: 'join', path: m.kernel.netnsPath(netns) };
    } catch (err) {
      for (const ep of allocated) this.releaseAddresses(ep);
      throw err;
    }
  }

  /** Allocates the address and describes the steps of one endpoint (nothing touches the kernel yet). */
  private endpointPlan(
    id: string,
    n: NetworkRecord,
    att: Attachment,
    netns: string,
    ifname: string,
    gateway: boolean,
  ): { ep: EndpointState; steps: Step[] } {
    const m = this.m;
    if (n.driver !== 'bridge' || !n.bridge) throw badParameter(`network ${n.name} cannot take endpoints`);
    const preferred = att.ipv4 !== undefined ? parseIp(att.ipv4) : undefined;
    const ip = m.ipam.allocate(n.id, id, preferred);
    const subnet = m.subnetOf(n)!;
    const gw = m.gatewayOf(n)!;
    // EnableIPv6: an address of the IPv6 subnet too (--ip6 when given), released with the IPv4 one.
    let v6: { ipv6: string; prefix6: number; gateway6: string } | undefined;
    if (n.enableIPv6 && m.ipam6.has(n.id)) {
      try {
        v6 = {
          ipv6: m.ipam6.allocate(n.id, id, att.ipv6),
          prefix6: m.subnet6Of(n)!.prefix,
          gateway6: m.gateway6Of(n)!,
        };
      } catch (err) {
        m.ipam.release(n.id, ip);
        throw err;
      }
    }
    const ep: EndpointState = {
      networkId: n.id,
      endpointId: att.endpointId,
      ip: formatIp(ip),
      prefix: subnet.prefix,
      gateway: gw,
      ...(v6 ?? {}),
      mac: att.mac ?? macForIp(ip),
      hostVeth: m.names.vethFor(randomBytes(8).toString('hex')),
      ifname,
    };
    const steps = vethSteps(m.kernel, {
      hostName: ep.hostVeth,
      peerName: ifname,
      netns,
      mtu: n.mtu ?? m.defaultMtu,
      mac: ep.mac,
      bridge: n.bridge,
      cidr: `${ep.ip}/${ep.prefix}`,
      ...(gateway ? { defaultGateway: gw } : {}),
      ...(v6
        ? { cidr6: `${v6.ipv6}/${v6.prefix6}`, ...(gateway ? { defaultGateway6: v6.gateway6 } : {}) }
        : {}),
    });
    return { ep, steps };
  }

  /** Gives an endpoint's addresses back to IPAM (both families). */
  private releaseAddresses(ep: EndpointState): void {
    const ip = parseIp(ep.ip);
    if (ip !== undefined) this.m.ipam.release(ep.networkId, ip);
    if (ep.ipv6) this.m.ipam6.release(ep.networkId, ep.ipv6);
  }

  /** DNAT of 127.0.0.11 to the first user network's embedded DNS, when there is one. */
  private dnsStep(netns: string, endpoints: EndpointState[]): Step | undefined {
    const ep = endpoints.find((e) => {
      const n = this.store.networks.get(e.networkId);
      return n !== undefined && this.m.isUserNetwork(n);
    });
    return ep ? dnsRedirectStep(this.m.kernel, netns, ep.ifname, ep.gateway, ep.ip) : undefined;
  }

  /** Published ports go to the container's address on its first non-internal network. */
  private portTarget(endpoints: EndpointState[]): string | undefined {
    return endpoints.find((e) => !this.store.networks.get(e.networkId)?.internal)?.ip;
  }

  private async teardownLocked(id: string, rec: ContainerRecord): Promise<void> {
    const m = this.m;
    const sb = rec.sandbox;
    if (!sb) return;
    m.ports.release(id);
    // One ip batch: deleting the host end removes each pair now (deleting the netns alone frees it
    // asynchronously); -force goes on past objects already gone.
    const lines = sb.endpoints.map((ep) => `link del ${ep.hostVeth}`);
    if (sb.netns && rec.mode.kind !== 'container') lines.push(`netns delete ${sb.netns}`);
    await m.kernel.ipForce(lines);
    for (const ep of sb.endpoints) this.releaseAddresses(ep);
    const hadPorts = sb.ports.length > 0;
    rec.sandbox = undefined;
    for (const ep of sb.endpoints) {
      const n = this.store.networks.get(ep.networkId);
      if (n) m.publish('disconnect', n, { container: id });
    }
    await m.ipam.save();
    await m.ipam6.save();
    await this.store.saveContainers();
    if (hadPorts) await m.applyRules();
  }

  // ---- connect / disconnect (API: POST /networks/{id}/connect|disconnect)

  async connect(networkRef: string, containerRef: string, cfg: EndpointSettings | undefined): Promise<void> {
    await this.m.locked(async () => {
      const m = this.m;
      const n = requireNetwork(m, networkRef);
      const id = this.containerId(containerRef);
      const rec = this.record(id);
      if (rec.mode.kind !== 'bridge' || n.driver !== 'bridge') {
        throw badParameter(
          'container sharing network namespace with another container or host cannot be connected to any other network',
        );
      }
      if (rec.attachments.some((a) => a.networkId === n.id))
        throw forbidden(`endpoint with name ${rec.req.name} already exists in network ${n.name}`);
      const att = attachmentFor(m, n, cfg ?? undefined);
      if (!rec.sandbox) {
        rec.attachments.push(att);
        await this.store.saveContainers();
        m.publish('connect', n, { container: id });
        return;
      }
      const used = new Set(rec.sandbox.endpoints.map((e) => e.ifname));
      let idx = 0;
      while (used.has(`eth${idx}`)) idx++;
      const needsGateway =
        !n.internal && !rec.sandbox.endpoints.some((e) => !this.store.networks.get(e.networkId)?.internal);
      const { ep, steps } = this.endpointPlan(id, n, att, rec.sandbox.netns!, `eth${idx}`, needsGateway);
      const endpoints = [...rec.sandbox.endpoints, ep];
      const hadDns = rec.sandbox.endpoints.some((e) => this.isUser(e.networkId));
      const dns = !hadDns ? this.dnsStep(rec.sandbox.netns!, endpoints) : undefined;
      try {
        await runSteps(dns ? [...steps, dns] : steps, m.log);
      } catch (err) {
        this.releaseAddresses(ep);
        throw err;
      }
      rec.attachments.push(att);
      rec.sandbox.endpoints = endpoints;
      await m.ipam.save();
      await m.ipam6.save();
      await this.store.saveContainers();
      m.publish('connect', n, { container: id });
      await this.rewriteEtc(id, rec);
    });
  }

  async disconnect(networkRef: string, containerRef: string, force: boolean): Promise<void> {
    await this.m.locked(async () => {
      const m = this.m;
      const n = requireNetwork(m, networkRef);
      let id: string;
      try {
        id = this.containerId(containerRef);
      } catch (err) {
        // --force removes a dead container's endpoint by id even when the container is gone.
        if (!force) throw err;
        id = containerRef;
      }
      const rec = this.store.containers.get(id);
      if (!rec) throw notFound(`No such container: ${containerRef}`);
      const att = rec.attachments.find((a) => a.networkId === n.id);
      if (!att) throw forbidden(`container ${id.slice(0, 12)} is not connected to network ${n.name}`);
      const ep = rec.sandbox?.endpoints.find((e) => e.networkId === n.id);
      if (ep && rec.sandbox) {
        await tolerateMissing(() => m.kernel.ip([`link del ${ep.hostVeth}`]));
        this.releaseAddresses(ep);
        rec.sandbox.endpoints = rec.sandbox.endpoints.filter((e) => e !== ep);
        const rest = rec.sandbox.endpoints;
        // The default route left with the interface: give it to the next network that has a gateway.
        const gwEp = rest.find((e) => !this.store.networks.get(e.networkId)?.internal);
        if (gwEp)
          await m.kernel.ip(
            [`route replace default via ${gwEp.gateway} dev ${gwEp.ifname}`],
            rec.sandbox.netns,
          );
        const dns = this.dnsStep(rec.sandbox.netns!, rest);
        if (dns) await dns.run();
        else await removeDnsRedirect(m.kernel, rec.sandbox.netns!);
      }
      rec.attachments = rec.attachments.filter((a) => a !== att);
      await m.ipam.save();
      await m.ipam6.save();
      await this.store.saveContainers();
      m.publish('disconnect', n, { container: id });
      if (rec.sandbox) await this.rewriteEtc(id, rec);
    });
  }

  private containerId(ref: string): string {
    const c = this.m.lookup?.find(ref);
    if (c) return c.id;
    if (this.store.containers.has(ref)) return ref;
    throw notFound(`No such container: ${ref}`);
  }

  private isUser(networkId: string): boolean {
    const n = this.store.networks.get(networkId);
    return n !== undefined && this.m.isUserNetwork(n);
  }

  private async rewriteEtc(id: string, rec: ContainerRecord): Promise<void> {
    try {
      await this.m.lookup?.writeEtcFiles(id, this.etcFiles(rec));
    } catch (err) {
      this.m.log.warn('could not update /etc/hosts after connect/disconnect', {
        container: id,
        err: err as Error,
      });
    }
  }

  // ---- files and inspect (sandbox-views.ts)

  etcFiles(rec: ContainerRecord): EtcFiles {
    return this.views.etcFiles(rec);
  }

  settings(id: string): NetworkSettings {
    return this.views.settings(id);
  }

  ports(id: string): Port[] {
    return this.views.ports(id);
  }

  // ---- reconcile (daemon start)

  async reconcile(known: ReadonlySet<string>, running: ReadonlySet<string>): Promise<void> {
    await this.m.locked(async () => {
      const m = this.m;
      for (const [id, rec] of [...this.store.containers]) {
        if (!known.has(id)) {
          if (rec.sandbox) await this.teardownLocked(id, rec);
          this.store.containers.delete(id);
        } else if (rec.sandbox && !running.has(id)) {
          await this.teardownLocked(id, rec);
        } else if (rec.sandbox?.netns && !(await m.kernel.netnsList()).includes(rec.sandbox.netns)) {
          // The netns vanished (host reboot): the container cannot be running in it.
          rec.sandbox.endpoints = [];
          rec.sandbox.ports = [];
          await this.teardownLocked(id, rec);
        }
      }
      await this.store.saveContainers();
      await this.sweepKernel();
      for (const [id, rec] of this.store.containers) {
        const target = rec.sandbox ? this.portTarget(rec.sandbox.endpoints) : undefined;
        if (rec.sandbox?.ports.length && target) await m.ports.restore(id, rec.sandbox.ports, target);
      }
      await m.applyRules();
    });
  }

  /** Removes this daemon's netns, veths, bridges and addresses that the state does not account for. */
  private async sweepKernel(): Promise<void> {
    const m = this.m;
    const liveNetns = new Set<string>();
    const liveVeths = new Set<string>();
    const heldIps = new Set<string>();
    for (const [id, rec] of this.store.containers) {
      if (rec.sandbox?.netns) liveNetns.add(rec.sandbox.netns);
      for (const ep of rec.sandbox?.endpoints ?? []) {
        liveVeths.add(ep.hostVeth);
        heldIps.add(`${ep.networkId}/${ep.ip}/${id}`);
        if (ep.ipv6) heldIps.add(`${ep.networkId}/${ep.ipv6}/${id}`);
      }
    }
    const bridges = new Set([...this.store.networks.values()].flatMap((n) => (n.bridge ? [n.bridge] : [])));
    for (const ns of await m.kernel.netnsList()) {
      if (m.names.ownsNetns(ns) && !liveNetns.has(ns)) {
        m.log.info('reconcile: removing stray netns', { netns: ns });
        await tolerateMissing(() => m.kernel.netnsDelete(ns));
      }
    }
    for (const l of await m.kernel.links()) {
      const stray = m.names.isVeth(l.name)
        ? !liveVeths.has(l.name)
        : m.names.ownsLink(l.name) && l.kind === 'bridge' && !bridges.has(l.name);
      if (stray) {
        m.log.info('reconcile: removing stray link', { link: l.name });
        await tolerateMissing(() => m.kernel.ip([`link del ${l.name}`]));
      }
    }
    for (const h of m.ipam.holders()) {
      if (!heldIps.has(`${h.networkId}/${h.ip}/${h.owner}`)) m.ipam.release(h.networkId, parseIp(h.ip)!);
    }
    for (const h of m.ipam6.holders())
      if (!heldIps.has(`${h.networkId}/${h.ip}/${h.owner}`)) m.ipam6.release(h.networkId, h.ip);
    await m.ipam.save();
    await m.ipam6.save();
  }
}

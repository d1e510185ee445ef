/**
 * What a container's networking looks like from inside and from the API: /etc/hosts and resolv.conf
 * contents, inspect's NetworkSettings and `docker ps` ports, derived from the network state (sandboxes.ts
 * changes that state; this only reads it).
 */
import { readFileSync } from 'node:fs';
import type { EndpointSettings, NetworkSettings, Port } from '@berth/common';
import { parseExtraHost } from './attach-plan.js';
import { renderHosts, renderResolvConf } from './etc-files.js';
import type { NetworkManager } from './manager.js';
import { portMap } from './ports.js';
import { dnsNames } from './resolver.js';
import type { ContainerRecord } from './state.js';
import type { EtcFiles } from './types.js';

export class SandboxViews {
  constructor(private readonly m: NetworkManager) {}

  private isUser(networkId: string): boolean {
    const n = this.m.store.networks.get(networkId);
    return n !== undefined && this.m.isUserNetwork(n);
  }

  /** /etc/hosts and /etc/resolv.conf contents for the container's current state. */
  etcFiles(rec: ContainerRecord): EtcFiles {
    const m = this.m;
    const host = m.hostResolv();
    const req = rec.req;
    if (rec.mode.kind === 'container') {
      const target = this.m.store.containers.get(rec.mode.containerId);
      if (target) return this.etcFiles(target);
    }
    const defaultGw = m.gatewayOf(m.defaultBridge()) ?? '127.0.0.1';
    const extraHosts = req.extraHosts
      .map(parseExtraHost)
      .map((e) => ({ name: e.name, ip: e.ip === 'host-gateway' ? defaultGw : e.ip }));
    if (rec.mode.kind === 'host') {
      let hostHosts = '';
      try {
        hostHosts = readFileSync('/etc/hosts', 'utf8');
      } catch {
        hostHosts = '127.0.0.1\tlocalhost\n';
      }
      const extra = extraHosts.map((e) => `${e.ip}\t${e.name}\n`).join('');
      const resolv = renderResolvConf({
        host,
        dns: req.dns.length ? req.dns : (m.opts.dns ?? []),
        dnsSearch: req.dnsSearch,
        dnsOptions: req.dnsOptions,
        embedded: false,
      });
      return { hosts: hostHosts + extra, resolvConf: resolv };
    }
    const eps = rec.sandbox?.endpoints ?? [];
    const links: { ip: string; names: string[] }[] = [];
    for (const l of req.links) {
      const [name, alias] = l.replace(/^\//, '').split(':');
      const t = name ? m.lookup?.find(name) : undefined;
      const trec = t ? this.m.store.containers.get(t.id) : undefined;
      const tep = trec?.sandbox?.endpoints.find((e) => eps.some((o) => o.networkId === e.networkId));
      if (t && tep) {
        const aliasName = (alias ?? name).replace(/^.*\//, '');
        links.push({
          ip: tep.ip,
          names: [...new Set([aliasName, t.id.slice(0, 12), t.name.replace(/^\//, '')])],
        });
      }
    }
    const embedded =
      eps.some((e) => this.isUser(e.networkId)) ||
      (!rec.sandbox && rec.attachments.some((a) => this.isUser(a.networkId)));
    return {
      hosts: renderHosts({
        hostname: req.hostname,
        ...(req.domainname ? { domainname: req.domainname } : {}),
        ...(eps[0] ? { ownIp: eps[0].ip } : {}),
        ...(eps[0]?.ipv6 ? { ownIp6: eps[0].ipv6 } : {}),
        extraHosts,
        links,
      }),
      resolvConf: renderResolvConf({
        host,
        dns: req.dns.length ? req.dns : (m.opts.dns ?? []),
        dnsSearch: req.dnsSearch,
        dnsOptions: req.dnsOptions,
        embedded,
        upstreams: m.upstreams(req.dns).map((u) => `host(${u})`),
      }),
    };
  }

  settings(id: string): NetworkSettings {
    const rec = this.m.store.containers.get(id);
    const sb = rec?.sandbox;
    const networks: Record<string, EndpointSettings> = {};
    let primary: EndpointSettings | undefined;
    if (rec) {
      const modeNet =
        rec.mode.kind === 'host' || rec.mode.kind === 'none'
          ? this.m.store.findNetwork(rec.mode.kind)
          : undefined;
      if (modeNet)
        networks[modeNet.name] = {
          IPAMConfig: null,
          Links: null,
          Aliases: null,
          MacAddress: '',
          NetworkID: modeNet.id,
          EndpointID: sb ? sb.id : '',
          Gateway: '',
          IPAddress: '',
          IPPrefixLen: 0,
          IPv6Gateway: '',
          GlobalIPv6Address: '',
          GlobalIPv6PrefixLen: 0,
          DriverOpts: null,
          DNSNames: null,
        };
      for (const att of rec.attachments) {
        const n = this.m.store.networks.get(att.networkId);
        if (!n) continue;
        const ep = sb?.endpoints.find((e) => e.networkId === n.id);
        const es: EndpointSettings = {
          IPAMConfig:
            att.ipv4 || att.ipv6
              ? {
                  ...(att.ipv4 ? { IPv4Address: att.ipv4 } : {}),
                  ...(att.ipv6 ? { IPv6Address: att.ipv6 } : {}),
                }
              : null,
          Links: att.links.length ? att.links : null,
          Aliases: att.aliases.length ? att.aliases : null,
          MacAddress: ep?.mac ?? att.mac ?? '',
          NetworkID: n.id,
          EndpointID: ep ? att.endpointId : '',
          Gateway: ep?.gateway ?? '',
          IPAddress: ep?.ip ?? '',
          IPPrefixLen: ep?.prefix ?? 0,
          IPv6Gateway: ep?.gateway6 ?? '',
          GlobalIPv6Address: ep?.ipv6 ?? '',
          GlobalIPv6PrefixLen: ep?.prefix6 ?? 0,
          DriverOpts: Object.keys(att.driverOpts).length ? att.driverOpts : null,
          DNSNames: this.m.isUserNetwork(n) ? dnsNames(id, rec, n.id) : null,
        };
        networks[n.name] = es;
        if (n.builtin && n.driver === 'bridge') primary = es;
      }
    }
    return {
      Bridge: '',
      SandboxID: sb?.id ?? '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: sb ? portMap(rec.req.exposedPorts, sb.ports) : {},
      SandboxKey: sb?.netns ? this.m.kernel.netnsPath(sb.netns) : '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: primary?.EndpointID ?? '',
      Gateway: primary?.Gateway ?? '',
      GlobalIPv6Address: primary?.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: primary?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: primary?.IPAddress ?? '',
      IPPrefixLen: primary?.IPPrefixLen ?? 0,
      IPv6Gateway: primary?.IPv6Gateway ?? '',
      MacAddress: primary?.MacAddress ?? '',
      Networks: networks,
    };
  }

  ports(id: string): Port[] {
    const rec = this.m.store.containers.get(id);
    const out: Port[] = [];
    const published = rec?.sandbox?.ports ?? [];
    for (const p of published)
      out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto });
    for (const key of rec?.sandbox ? rec.req.exposedPorts : []) {
      const [port, proto] = key.split('/');
      if (!published.some((p) => String(p.containerPort) === port && p.proto === (proto ?? 'tcp')))
        out.push({ PrivatePort: Number(port), Type: (proto ?? 'tcp') as Port['Type'] });
    }
    return out;
  }
}

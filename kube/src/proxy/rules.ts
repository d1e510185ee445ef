/**
 * The service proxy's nftables table, rendered whole from the proxy's model and applied in one transaction
 * (add, delete, define), after kube-proxy's nftables mode: `services` matches cluster IPs (and node ports on
 * the node's own addresses) and jumps to one chain per service port, which picks a ready endpoint with
 * `numgen random` (after a ClientIP affinity set, when asked) and jumps to the endpoint's chain, which DNATs.
 * Traffic from outside the pod network, and a pod reaching itself (hairpin), is marked and masqueraded. A
 * service port without ready endpoints is rejected, as kube-proxy does. Traffic policies `Local` pick among
 * this node's endpoints only (dropped when it has none), and external traffic under `externalTrafficPolicy:
 * Local` keeps its source address (no masquerade) unless it comes from a pod or the node itself, which take
 * the cluster-wide path as kube-proxy's short-circuit does. LoadBalancer ports and node ports on the host address
 * (127.0.0.1 by default) are DNATed the same way, in the kernel, for the ports berth-kube holds there (its
 * sockets keep other programs off them and tell it which are taken); a 127/8 source is masqueraded like any
 * other non-pod source, and needs route_localnet on the pod bridge (localnet.ts).
 */
import { createHash } from 'node:crypto';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  /** On this node (absent: yes). */
  local?: boolean;
}

export interface ProxyServicePort {
  namespace: string;
  name: string;
  portName: string;
  /** tcp, udp or sctp */
  protocol: string;
  clusterIP?: string;
  port: number;
  nodePort?: number;
  /** A LoadBalancer Service's port: also answered on the host address, when held there. */
  loadBalancer?: boolean;
  /** LoadBalancer ingress IPs answered like the cluster IP. */
  externalIPs: string[];
  /** Seconds of ClientIP affinity; 0 for none. */
  affinitySeconds: number;
  /** internalTrafficPolicy Local: cluster IP traffic goes to this node's endpoints only. */
  internalLocal?: boolean;
  /** externalTrafficPolicy Local: node port and load-balancer traffic goes to this node's endpoints only. */
  externalLocal?: boolean;
  endpoints: ProxyEndpoint[];
}

export interface ProxyRuleset {
  table: string;
  /** The pod CIDR: traffic from elsewhere is masqueraded so replies come back through the node. */
  podCIDR: string;
  services: ProxyServicePort[];
  /** Where LoadBalancer and node ports answer on the host, and which of them berth-kube holds there. */
  host?: HostPorts;
}

export interface HostPorts {
  /** An IPv4 address, or 0.0.0.0 for every local address (Berth's VM). */
  address: string;
  /** `tcp/8080` → the Service (namespace/name) whose socket holds it; others' ports get no rule. */
  held: ReadonlyMap<string, string>;
}

/** The host ports a service port is answered on: its LoadBalancer port and node port that it holds. */
export function heldHostPorts(p: ProxyServicePort, host: HostPorts | undefined): number[] {
  if (!host) return [];
  const mine = (port: number) => host.held.get(`${p.protocol}/${port}`) === `${p.namespace}/${p.name}`;
  return [...(p.loadBalancer ? [p.port] : []), ...(p.nodePort ? [p.nodePort] : [])].filter(mine);
}

const MASQ_MARK = '0x4000';

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);
export const serviceChain = (p: ProxyServicePort) =>
  `svc-${hash(`${p.namespace}/${p.name}/${p.protocol}/${p.portName}`)}-${p.namespace}/${p.name}/${p.protocol}/${p.portName || p.port}`;
const endpointChain = (p: ProxyServicePort, e: ProxyEndpoint) =>
  `sep-${hash(`${p.namespace}/${p.name}/${p.protocol}/${p.portName}/${e.ip}:${e.port}`)}-${p.namespace}/${p.name}/${p.protocol}/${p.portName || p.port}__${e.ip}/${e.port}`;
const localChain = (kind: 'int' | 'ext', p: ProxyServicePort) =>
  `${kind}-${hash(`${p.namespace}/${p.name}/${p.protocol}/${p.portName}`)}-${p.namespace}/${p.name}/${p.protocol}/${p.portName || p.port}`;
const isLocal = (e: ProxyEndpoint) => e.local !== false;
const affinitySet = (p: ProxyServicePort, e: ProxyEndpoint) =>
  `affinity-${hash(`${p.namespace}/${p.name}/${p.protocol}/${p.portName}/${e.ip}:${e.port}`)}`;

const hostMatch = (h: HostPorts) =>
  h.address === '0.0.0.0' ? 'fib daddr type local' : `ip daddr ${h.address}`;

export function renderProxyRules(r: ProxyRuleset): string {
  const L: string[] = [];
  const t = r.table;
  L.push(`add table ip ${t}`, `delete table ip ${t}`, `table ip ${t} {`);
  L.push(
    // Cluster IPs for this cluster's pods only (two clusters on one host may use the same service range);
    // node ports for anyone reaching the node's addresses.
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    ip saddr ${r.podCIDR} jump services`,
    '    fib daddr type local jump services',
    '  }',
    // The node itself (and berth-kube's host listeners) reach services through the output hook.
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump services',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    meta mark & ${MASQ_MARK} == 0 return`,
    `    meta mark set meta mark ^ ${MASQ_MARK}`,
    '    masquerade fully-random',
    '  }',
    '  chain mark-for-masquerade {',
    `    meta mark set meta mark | ${MASQ_MARK}`,
    '  }',
  );
  const withEndpoints = r.services.filter((p) => p.endpoints.length > 0);
  const without = r.services.filter((p) => p.endpoints.length === 0);
  // Filter hooks: a service port with no ready endpoint refuses at once (ICMP port unreachable) instead of
  // letting the client time out against an address no one owns.
  for (const hook of ['input', 'forward', 'output'])
    L.push(
      `  chain filter-${hook} {`,
      `    type filter hook ${hook} priority -110; policy accept;`,
      '    ct state new jump no-endpoints',
      '  }',
    );
  L.push('  chain no-endpoints {');
  for (const p of without) {
    for (const ip of [p.clusterIP, ...p.externalIPs].filter((x): x is string => !!x))
      L.push(`    ip daddr ${ip} ${p.protocol} dport ${p.port} reject`);
    for (const port of heldHostPorts(p, r.host))
      L.push(`    ${hostMatch(r.host!)} ${p.protocol} dport ${port} reject`);
    // 127/8 only on the host address, where berth-kube holds the port (another program's listener stays reachable).
    if (p.nodePort)
      L.push(`    ip daddr != 127.0.0.0/8 fib daddr type local ${p.protocol} dport ${p.nodePort} reject`);
  }
  L.push('  }');
  L.push('  chain services {');
  const internal = (p: ProxyServicePort) => (p.internalLocal ? localChain('int', p) : serviceChain(p));
  const external = (p: ProxyServicePort) => (p.externalLocal ? localChain('ext', p) : serviceChain(p));
  for (const p of withEndpoints) {
    if (p.clusterIP) L.push(`    ip daddr ${p.clusterIP} ${p.protocol} dport ${p.port} jump ${internal(p)}`);
    for (const ip of p.externalIPs)
      L.push(`    ip daddr ${ip} ${p.protocol} dport ${p.port} jump ${external(p)}`);
  }
  // The host address's LoadBalancer and node ports (locally originated: the output hook), then node ports on
  // the node's other addresses (kube-proxy's nodeports chain); the rest of 127/8 is not the node's.
  for (const p of withEndpoints)
    for (const port of heldHostPorts(p, r.host))
      L.push(`    ${hostMatch(r.host!)} ${p.protocol} dport ${port} jump ${external(p)}`);
  L.push('    ip daddr 127.0.0.0/8 return');
  for (const p of withEndpoints)
    if (p.nodePort) L.push(`    fib daddr type local ${p.protocol} dport ${p.nodePort} jump ${external(p)}`);
  L.push('  }');
  for (const p of withEndpoints) {
    for (const e of p.endpoints.filter(() => p.affinitySeconds > 0)) {
      L.push(
        `  set ${affinitySet(p, e)} {`,
        '    type ipv4_addr',
        '    flags dynamic,timeout',
        `    timeout ${p.affinitySeconds}s`,
        '  }',
      );
    }
    // Picks one of `eps` (its affinity first), or drops when this node has none of a Local policy's endpoints.
    const pick = (eps: ProxyEndpoint[]) => {
      if (!eps.length) return void L.push('    drop');
      if (p.affinitySeconds > 0)
        for (const e of eps) L.push(`    ip saddr @${affinitySet(p, e)} goto ${endpointChain(p, e)}`);
      if (eps.length === 1) L.push(`    goto ${endpointChain(p, eps[0])}`);
      else
        L.push(
          `    numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${endpointChain(p, e)}`).join(', ')} }`,
        );
    };
    const local = p.endpoints.filter(isLocal);
    L.push(`  chain ${serviceChain(p)} {`, `    ip saddr != ${r.podCIDR} jump mark-for-masquerade`);
    pick(p.endpoints);
    L.push('  }');
    if (p.internalLocal) {
      L.push(`  chain ${localChain('int', p)} {`, `    ip saddr != ${r.podCIDR} jump mark-for-masquerade`);
      pick(local);
      L.push('  }');
    }
    if (p.externalLocal) {
      // Pods and the node itself are not "external": they take the cluster-wide path (masqueraded from the node).
      L.push(
        `  chain ${localChain('ext', p)} {`,
        `    ip saddr ${r.podCIDR} goto ${serviceChain(p)}`,
        '    fib saddr type local jump mark-for-masquerade',
        `    fib saddr type local goto ${serviceChain(p)}`,
      );
      pick(local);
      L.push('  }');
    }
    for (const e of p.endpoints) {
      L.push(`  chain ${endpointChain(p, e)} {`);
      // Hairpin: a pod reaching itself through its service must see the reply come back through the node.
      L.push(`    ip saddr ${e.ip} jump mark-for-masquerade`);
      if (p.affinitySeconds > 0) L.push(`    update @${affinitySet(p, e)} { ip saddr }`);
      L.push(`    meta l4proto ${p.protocol} dnat to ${e.ip}:${e.port}`);
      L.push('  }');
    }
  }
  L.push('}', '');
  return L.join('\n');
}

export function renderDeleteProxyTable(table: string): string {
  return `add table ip ${table}\ndelete table ip ${table}\n`;
}

/**
 * This daemon's nftables table, rendered whole from state and applied in one transaction (add, delete,
 * define): rules nobody accounts for cannot survive an apply, which makes reconcile a plain re-apply.
 * Conntrack entries (live NAT bindings) are kernel state and outlive the swap.
 */
import type { PublishedPort } from './state.js';

export interface BridgeRules {
  bridge: string;
  subnet: string;
  internal: boolean;
  /** com.docker.network.bridge.enable_ip_masquerade */
  masquerade: boolean;
}

export interface DnatRule extends PublishedPort {
  containerIp: string;
}

export interface HostRuleset {
  table: string;
  bridges: BridgeRules[];
  dnat: DnatRule[];
}

const q = (s: string): string => JSON.stringify(s);

export function renderHostRules(r: HostRuleset): string {
  const L: string[] = [];
  L.push(`add table ip ${r.table}`, `delete table ip ${r.table}`, `table ip ${r.table} {`);
  // Published ports: anything addressed to a local address (127.0.0.1, the host's addresses, a gateway).
  L.push(
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    fib daddr type local jump publish',
    '  }',
  );
  L.push(
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    fib daddr type local jump publish',
    '  }',
  );
  L.push('  chain publish {');
  for (const d of r.dnat) {
    const daddr = d.hostIp === '0.0.0.0' ? '' : `ip daddr ${d.hostIp} `;
    L.push(`    ${daddr}${d.proto} dport ${d.hostPort} dnat to ${d.containerIp}:${d.containerPort}`);
  }
  L.push('  }');
  L.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  const subnets = r.bridges.map((b) => b.subnet);
  const bridges = r.bridges.map((b) => q(b.bridge));
  if (r.bridges.length > 0) {
    // 127.0.0.1:<published> → container: the loopback source must become the gateway address.
    L.push(`    ip saddr 127.0.0.0/8 oifname { ${bridges.join(', ')} } masquerade`);
    // Hairpin: a container reaching a published port through the host gets the reply back through the host.
    L.push(
      `    ct status dnat ip saddr { ${subnets.join(', ')} } oifname { ${bridges.join(', ')} } masquerade`,
    );
  }
  for (const b of r.bridges)
    if (b.masquerade && !b.internal) L.push(`    ip saddr ${b.subnet} oifname != ${q(b.bridge)} masquerade`);
  L.push('  }');
  L.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  for (const b of r.bridges) {
    if (b.internal) {
      L.push(`    iifname ${q(b.bridge)} oifname != ${q(b.bridge)} drop`);
      L.push(`    oifname ${q(b.bridge)} iifname != ${q(b.bridge)} drop`);
    }
  }
  if (r.bridges.length > 0) {
    // Containers' links have a large MTU: clamp their SYNs to the MTU of the route that leaves the host.
    L.push(
      `    iifname { ${bridges.join(', ')} } oifname != { ${bridges.join(', ')} } tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu`,
    );
  }
  if (r.bridges.length > 1) {
    // Isolation between networks (dockerd's DOCKER-ISOLATION), published ports excepted.
    for (const b of r.bridges) {
      const others = r.bridges.filter((o) => o !== b).map((o) => q(o.bridge));
      L.push(`    iifname ${q(b.bridge)} oifname { ${others.join(', ')} } ct status & dnat == 0 drop`);
    }
  }
  L.push('  }', '}', '');
  return L.join('\n');
}

/** Removes the table entirely (tests; a daemon that owns no bridge networks). */
export function renderDeleteTable(table: string): string {
  return `add table ip ${table}\ndelete table ip ${table}\n`;
}

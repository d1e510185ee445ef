/**
 * The resolv.conf a pod gets, as the kubelet writes it (pkg/kubelet/network/dns): ClusterFirst points at the
 * cluster DNS with the namespace's search path and ndots:5; Default copies the host's; None starts empty; a
 * hostNetwork pod takes Default unless it asks for ClusterFirstWithHostNet; dnsConfig is merged on top (at most
 * 3 nameservers and 32 search domains, options overriding by name). The kubelet calls `podResolvConf`.
 */

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export interface PodDnsInput {
  namespace: string;
  hostNetwork?: boolean;
  dnsPolicy?: string;
  dnsConfig?: {
    nameservers?: string[];
    searches?: string[];
    options?: Array<{ name: string; value?: string }>;
  };
}

export interface ClusterDnsSettings {
  /** The kube-dns Service's cluster IP. */
  clusterDNS: string;
  clusterDomain: string;
  /** The host's resolv.conf, parsed (for Default, and the host's search domains under ClusterFirst). */
  host: ResolvConf;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (word === 'search' || word === 'domain') out.searches = rest.filter(Boolean);
    else if (word === 'options') out.options.push(...rest.filter(Boolean));
  }
  return out;
}

function mergeOptions(base: string[], extra: Array<{ name: string; value?: string }>): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0], o);
  for (const o of extra) byName.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...byName.values()];
}

export function podResolvConf(pod: PodDnsInput, c: ClusterDnsSettings): ResolvConf {
  let policy = pod.dnsPolicy ?? 'ClusterFirst';
  if (pod.hostNetwork && policy === 'ClusterFirst') policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  let conf: ResolvConf;
  if (policy === 'None') conf = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') conf = { ...c.host, options: [...c.host.options] };
  else
    conf = {
      nameservers: [c.clusterDNS],
      searches: [
        `${pod.namespace}.svc.${c.clusterDomain}`,
        `svc.${c.clusterDomain}`,
        c.clusterDomain,
        ...c.host.searches,
      ],
      options: ['ndots:5'],
    };
  const d = pod.dnsConfig ?? {};
  const nameservers = [...new Set([...conf.nameservers, ...(d.nameservers ?? [])])].slice(0, MAX_NAMESERVERS);
  const searches = [...new Set([...conf.searches, ...(d.searches ?? [])])].slice(0, MAX_SEARCHES);
  return { nameservers, searches, options: mergeOptions(conf.options, d.options ?? []) };
}

export function formatResolvConf(r: ResolvConf): string {
  const lines = r.nameservers.map((n) => `nameserver ${n}`);
  if (r.searches.length) lines.push(`search ${r.searches.join(' ')}`);
  if (r.options.length) lines.push(`options ${r.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

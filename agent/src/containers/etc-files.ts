/** /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, written under containers/<id>/. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { HostConfig } from '@berth/common';
import { writeFileAtomic } from '../util/fs-atomic.js';

export interface EtcPaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function etcPaths(dir: string): EtcPaths {
  return { hostname: path.join(dir, 'hostname'), hosts: path.join(dir, 'hosts'), resolvConf: path.join(dir, 'resolv.conf') };
}

const HOSTS_BASE = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

const LOOPBACK_NS = /^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$/;

/** Host resolv.conf without loopback nameservers (unreachable from a container's own net namespace). */
export function containerResolvConf(host: string, hc: HostConfig): string {
  let lines = host.split('\n').filter((l) => !LOOPBACK_NS.test(l));
  if (hc.Dns?.length) lines = lines.filter((l) => !/^\s*nameserver\s/.test(l)).concat(hc.Dns.map((d) => `nameserver ${d}`));
  if (hc.DnsSearch?.length) lines = lines.filter((l) => !/^\s*(search|domain)\s/.test(l)).concat(`search ${hc.DnsSearch.join(' ')}`);
  if (hc.DnsOptions?.length) lines = lines.filter((l) => !/^\s*options\s/.test(l)).concat(`options ${hc.DnsOptions.join(' ')}`);
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return lines.filter((l, i, a) => l.trim() !== '' || i < a.length - 1).join('\n').trim() + '\n';
}

export async function writeEtcFiles(dir: string, hostname: string, domainname: string, hc: HostConfig): Promise<EtcPaths> {
  const p = etcPaths(dir);
  await writeFileAtomic(p.hostname, `${hostname}\n`);
  const extra = (hc.ExtraHosts ?? []).map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
  });
  await writeFileAtomic(p.hosts, HOSTS_BASE + extra.join(''));
  void domainname;
  const host = await fsp.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await writeFileAtomic(p.resolvConf, containerResolvConf(host, hc));
  return p;
}

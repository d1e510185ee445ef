/**
 * route_localnet on the interface that carries an address (the pod bridge, by its gateway): a connection to
 * 127.0.0.1:<port> DNATed to a pod leaves through that bridge with a loopback source until the masquerade
 * rewrites it, and its replies come back to 127.0.0.1; without it the kernel drops both as martians. berthd
 * sets it on its own bridges; berth-kube makes sure for the pod network it uses.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The interface's name once route_localnet is on, or undefined while no interface has the address. */
export async function enableRouteLocalnet(address: string): Promise<string | undefined> {
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'to', `${address}/32`]);
  const ifname = (JSON.parse(stdout || '[]') as Array<{ ifname?: string }>)[0]?.ifname;
  if (!ifname || !/^[\w.-]+$/.test(ifname)) return undefined;
  await writeFile(`/proc/sys/net/ipv4/conf/${ifname}/route_localnet`, '1');
  return ifname;
}

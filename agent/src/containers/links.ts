/**
 * Legacy links (`--link name:alias`, default bridge only): the environment a linked container gets
 * (ALIAS_PORT, ALIAS_PORT_80_TCP_ADDR, ALIAS_NAME, ALIAS_ENV_FOO...) exactly as dockerd 25's links.ToEnv builds
 * it, and `docker rm --link parent/alias`. /etc/hosts entries for links are the network domain's.
 */
import { badParameter, internal, notFound } from '../errors.js';
import type { ContainerNetworking } from '../network/types.js';
import type { ContainerRecord } from './record.js';
import { isRunning } from './state.js';
import type { ContainerStore } from './store.js';

interface Port {
  num: number;
  proto: string;
}

/** `name:alias` or `name` → the child's reference and the alias (dockerd: the child's name when none). */
export function parseLink(link: string): { child: string; alias: string } {
  const [child = '', alias] = link.replace(/^\//, '').split(':');
  if (!child) throw badParameter(`invalid link: ${JSON.stringify(link)}`);
  return { child, alias: (alias ?? child).replace(/^\//, '') };
}

/** dockerd's order: by number, tcp before another protocol with the same number. */
function sortPorts(ports: Port[]): Port[] {
  return [...ports].sort((a, b) => a.num - b.num || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
}

function nextContiguous(ports: Port[], value: number, index: number): number {
  if (index + 1 === ports.length) return index;
  for (let i = index + 1; i < ports.length; i++) {
    if (ports[i].num > value + 1) return i - 1;
    value++;
  }
  return ports.length - 1;
}

/** The variables for one link, in dockerd's order; `name` is "/parent/alias". */
export function linkEnv(
  name: string,
  childIp: string,
  childEnv: readonly string[],
  exposed: readonly string[],
): string[] {
  const alias = name
    .slice(name.lastIndexOf('/') + 1)
    .toUpperCase()
    .replaceAll('-', '_');
  const ports = sortPorts(
    exposed.map((k) => {
      const [n, proto = 'tcp'] = k.split('/');
      return { num: Number(n), proto };
    }),
  );
  const env: string[] = [];
  const key = (p: Port) => `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
  if (ports[0]) env.push(`${alias}_PORT=${ports[0].proto}://${childIp}:${ports[0].num}`);
  for (let i = 0; i < ports.length;) {
    const p = ports[i];
    const j = nextContiguous(ports, p.num, i);
    if (j > i + 1) {
      const q = ports[j];
      env.push(
        `${key(p)}_START=${p.proto}://${childIp}:${p.num}`,
        `${key(p)}_ADDR=${childIp}`,
        `${key(p)}_PROTO=${p.proto}`,
        `${key(p)}_PORT_START=${p.num}`,
        `${alias}_PORT_${p.num}_${q.proto.toUpperCase()}_END=${q.proto}://${childIp}:${q.num}`,
        `${alias}_PORT_${p.num}_${q.proto.toUpperCase()}_PORT_END=${q.num}`,
      );
      i = j + 1;
    } else i++;
  }
  for (const p of ports)
    env.push(
      `${key(p)}=${p.proto}://${childIp}:${p.num}`,
      `${key(p)}_ADDR=${childIp}`,
      `${key(p)}_PORT=${p.num}`,
      `${key(p)}_PROTO=${p.proto}`,
    );
  env.push(`${alias}_NAME=${name}`);
  for (const v of childEnv) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const k = v.slice(0, eq);
    if (k === 'HOME' || k === 'PATH') continue;
    env.push(`${alias}_ENV_${k}=${v.slice(eq + 1)}`);
  }
  return env;
}

/**
 * --link on the default bridge: each child's address, ports and environment, for the container's processes
 * (its init and its execs, as dockerd's setupLinkedContainers). A child that is not running is an error.
 */
export function linkedEnv(
  rec: ContainerRecord,
  store: ContainerStore,
  network: ContainerNetworking,
): string[] {
  if (rec.hostConfig.NetworkMode !== 'bridge') return [];
  const env: string[] = [];
  for (const l of rec.hostConfig.Links ?? []) {
    const { child, alias } = parseLink(l);
    const c = store.find(child);
    if (!c || !isRunning(c.state))
      throw internal(`Cannot link to a non running container: /${child} AS ${rec.name}/${alias}`);
    const ip = network.settings(c.id).Networks?.bridge?.IPAddress ?? '';
    env.push(
      ...linkEnv(`${rec.name}/${alias}`, ip, c.config.Env ?? [], Object.keys(c.config.ExposedPorts ?? {})),
    );
  }
  return env;
}

/** A container's links as inspect shows them: "/child:/parent/alias". */
export function linksView(rec: ContainerRecord, store: ContainerStore): string[] | null {
  const out: string[] = [];
  for (const l of rec.hostConfig.Links ?? []) {
    const { child, alias } = parseLink(l);
    const c = store.find(child);
    out.push(`${c ? c.name : `/${child}`}:${rec.name}/${alias}`);
  }
  return out.length ? out : null;
}

/**
 * `DELETE /containers/parent/alias?link=1`: the parent's link named `alias` goes. The parent keeps running;
 * its /etc/hosts is not rewritten (dockerd does not either).
 */
export function removeLink(store: ContainerStore, ref: string): { parent: ContainerRecord; link: string } {
  const name = `/${ref.replace(/^\/+/, '')}`;
  const slash = name.lastIndexOf('/');
  // A plain error in dockerd (a 500), kept so.
  if (slash === 0) throw internal('Conflict, cannot remove the default link name of the container');
  const parent = store.find(name.slice(0, slash));
  const alias = name.slice(slash + 1);
  const link = parent?.hostConfig.Links?.find((l) => parseLink(l).alias === alias);
  if (!parent || !link) throw notFound(`No such container: ${ref.replace(/^\//, '')}`);
  return { parent, link };
}

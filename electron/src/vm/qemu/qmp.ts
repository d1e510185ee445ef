/** A minimal QMP client: quit, and HMP lines (hostfwd_add/remove, info usernet) for runtime port forwards. */
import net from 'node:net';
import { PortInUseError } from '../driver.js';

export type QmpAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; port: number };

/** The QMP messages one command needs, in order (after QEMU's greeting). */
export function qmpMessages(execute: string, args?: Record<string, unknown>): string[] {
  return [
    JSON.stringify({ execute: 'qmp_capabilities' }),
    JSON.stringify(args ? { execute, arguments: args } : { execute }),
  ];
}

/**
 * Sends one command after the capabilities handshake; resolves with its `return` value. One connection per
 * command: QEMU serves one QMP client at a time, and a held connection would block `berth stop`'s quit.
 */
export function qmpCommand(
  addr: QmpAddress,
  execute: string,
  args?: Record<string, unknown>,
  timeoutMs = 3000,
): Promise<unknown> {
  const [caps, cmd] = qmpMessages(execute, args);
  return new Promise((resolve, reject) => {
    const sock = addr.kind === 'unix' ? net.connect(addr.path) : net.connect(addr.port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    let step = 0;
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        if (msg.error) {
          clearTimeout(timer);
          sock.destroy();
          return reject(new Error(`QMP ${execute}: ${msg.error.desc}`));
        }
        if (msg.QMP && step === 0) {
          step = 1;
          sock.write(caps + '\n');
        } else if ('return' in msg && step === 1) {
          step = 2;
          sock.write(cmd + '\n');
        } else if ('return' in msg && step === 2) {
          clearTimeout(timer);
          sock.end();
          return resolve(msg.return);
        }
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // `quit` closes the socket instead of answering sometimes; that is success too.
    sock.on('close', () => {
      clearTimeout(timer);
      if (step === 2) resolve(undefined);
    });
  });
}

/** A human-monitor line through QMP; resolves with its text output ("" when a command has nothing to say). */
export async function hmpCommand(addr: QmpAddress, commandLine: string, timeoutMs = 3000): Promise<string> {
  const r = await qmpCommand(addr, 'human-monitor-command', { 'command-line': commandLine }, timeoutMs);
  return typeof r === 'string' ? r.replace(/\r\n/g, '\n').trim() : '';
}

/** One user-mode network forward: host `hostAddr:hostPort` → guest `guestAddr:guestPort`. */
export interface Hostfwd {
  proto: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: number;
  guestAddr: string;
  guestPort: number;
}

const port = (n: number) => {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`invalid port ${n}`);
  return n;
};
const ipv4 = (a: string) => {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new Error(`invalid IPv4 address ${JSON.stringify(a)}`);
  return a;
};
const netdevId = (id: string) => {
  if (!/^[A-Za-z][\w.-]*$/.test(id)) throw new Error(`invalid netdev id ${JSON.stringify(id)}`);
  return id;
};

/** `tcp:127.0.0.1:8080-10.0.2.15:8080`, the rule syntax of -netdev user,hostfwd= and hostfwd_add. */
export function hostfwdRule(f: Hostfwd): string {
  return `${f.proto}:${ipv4(f.hostAddr)}:${port(f.hostPort)}-${ipv4(f.guestAddr)}:${port(f.guestPort)}`;
}

export function hostfwdAddLine(netdev: string, f: Hostfwd): string {
  return `hostfwd_add ${netdevId(netdev)} ${hostfwdRule(f)}`;
}

export function hostfwdRemoveLine(
  netdev: string,
  f: Pick<Hostfwd, 'proto' | 'hostAddr' | 'hostPort'>,
): string {
  return `hostfwd_remove ${netdevId(netdev)} ${f.proto}:${ipv4(f.hostAddr)}:${port(f.hostPort)}`;
}

/** The HOST_FORWARD rows of `info usernet` (established connections and other rows are skipped). */
export function parseUsernetForwards(text: string): Hostfwd[] {
  const out: Hostfwd[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(TCP|UDP)\[HOST_FORWARD\]\s+-?\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (m)
      out.push({
        proto: m[1].toLowerCase() as 'tcp' | 'udp',
        hostAddr: m[2],
        hostPort: Number(m[3]),
        guestAddr: m[4],
        guestPort: Number(m[5]),
      });
  }
  return out;
}

/** Adds a forward; QEMU reports failure (port taken, bad netdev) as text, turned into an Error here. */
export async function hostfwdAdd(addr: QmpAddress, netdev: string, f: Hostfwd): Promise<void> {
  const out = await hmpCommand(addr, hostfwdAddLine(netdev, f));
  if (/Could not set up/.test(out))
    throw new PortInUseError(`${f.hostAddr}:${f.hostPort}/${f.proto} is already in use on the host`);
  if (out) throw new Error(out);
}

/** Removes a forward; false when there was none. */
export async function hostfwdRemove(
  addr: QmpAddress,
  netdev: string,
  f: Pick<Hostfwd, 'proto' | 'hostAddr' | 'hostPort'>,
): Promise<boolean> {
  const out = await hmpCommand(addr, hostfwdRemoveLine(netdev, f));
  if (/ removed$/.test(out)) return true;
  if (/not found$/.test(out)) return false;
  throw new Error(out || 'hostfwd_remove gave no answer');
}

export async function hostfwdList(addr: QmpAddress): Promise<Hostfwd[]> {
  return parseUsernetForwards(await hmpCommand(addr, 'info usernet'));
}

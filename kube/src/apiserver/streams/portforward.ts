/**
 * pods/portforward in its three forms: SPDY/3.1 tunnelled in a WebSocket (kubectl 1.32's default, subprotocol
 * `SPDY/3.1+portforward.k8s.io`), a plain SPDY/3.1 upgrade, and the kubelet's `v4.channel.k8s.io` WebSocket
 * (python and JS clients: per port a data and an error channel, each opened with the port as 2 bytes little-endian).
 * Over SPDY every forwarded connection is a pair of streams (data, error) joined by their requestID; a failure
 * reaches the client on the error stream in the kubelet's words.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream } from 'ws';
import { KubeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Pod } from '../../kubelet/types.js';
import type { Connector } from '../handlers/dispatch.js';
import { isUpgrade, takeUpgrade } from '../upgrade.js';
import {
  acceptSpdy,
  negotiateStreamProtocol,
  PlainHttpError,
  scheduledPod,
  upgradeRequired,
  writePlainError,
} from './handshake.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';
import type { StreamBackend } from './types.js';
import {
  acceptWebSocket,
  ChannelSocket,
  isWebSocketRequest,
  offeredProtocols,
  type ChannelMode,
} from './websocket.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
const TUNNEL_PREFIX = 'SPDY/3.1+';
const WS_PROTOCOLS = new Map([
  ['', false],
  ['v4.channel.k8s.io', false],
  ['v4.base64.channel.k8s.io', true],
]);
/** How long the second stream of a pair may take (the kubelet's stream creation timeout). */
const PAIR_TIMEOUT_MS = 30_000;
/** After one direction of a forwarded connection ends, the other's time to finish (containerd's 1 s). */
const ONE_WAY_GRACE_MS = 1000;

type Forward = (port: number) => Promise<Duplex>;

export function portForwardConnector(backend: StreamBackend, log: Logger): Connector {
  return async (r, req, res) => {
    if (r.info.verb !== 'get' && r.info.verb !== 'create')
      throw new KubeError(
        'MethodNotAllowed',
        `${r.info.verb} is not supported on resources of kind "pods/portforward"`,
      );
    const pod = await scheduledPod(r, backend.nodeName);
    if (!isUpgrade(req)) throw upgradeRequired();
    const forward: Forward = (port) => backend.portForward(pod, port);
    const l = log.child({ pod: r.info.name, portforward: true });
    try {
      if (!isWebSocketRequest(req)) {
        const protocol = negotiateStreamProtocol(req.headers, [PORT_FORWARD_PROTOCOL]);
        const pf = new SpdyPortForward(pod, forward, l);
        pf.attach(acceptSpdy(req, protocol, pf.onStream, l));
        return;
      }
      const offered = offeredProtocols(req);
      const tunnelled = offered
        .filter((p) => p.startsWith(TUNNEL_PREFIX) && p.endsWith('.k8s.io'))
        .map((p) => p.slice(TUNNEL_PREFIX.length));
      if (tunnelled.length) await serveTunnel(req, tunnelled, pod, forward, l);
      else await serveWebSocket(req, r.url.searchParams, offered, pod, forward, l);
    } catch (e) {
      if (!(e instanceof PlainHttpError)) throw e;
      writePlainError(res, e);
    }
  };
}

/** kube-apiserver's tunnelling handler: the SPDY handshake, then the WebSocket carries SPDY frames both ways. */
async function serveTunnel(req: IncomingMessage, spdy: string[], pod: Pod, forward: Forward, log: Logger) {
  // The SPDY request kube-apiserver makes of the kubelet offers the tunnelled protocols.
  const spdyHeaders = { ...req.headers, 'x-stream-protocol-version': spdy.join(',') };
  const protocol = negotiateStreamProtocol(spdyHeaders, [PORT_FORWARD_PROTOCOL]);
  const { socket, head } = takeUpgrade(req);
  let ws;
  try {
    ws = await acceptWebSocket(req, socket, head, TUNNEL_PREFIX + protocol);
  } catch {
    return;
  }
  // Each binary message is a run of SPDY bytes; each write of ours becomes one message (client-go's framing).
  const tunnel = createWebSocketStream(ws);
  tunnel.on('error', () => tunnel.destroy());
  const pf = new SpdyPortForward(pod, forward, log);
  pf.attach(new SpdyConnection(tunnel, { onStream: pf.onStream, log }));
}

interface Pair {
  id: string;
  port: number;
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: NodeJS.Timeout;
}

/** The kubelet's httpStreamHandler: pairs streams by requestID and forwards each pair to its port. */
class SpdyPortForward {
  private readonly pairs = new Map<string, Pair>();
  private readonly targets = new Set<Duplex>();

  constructor(
    private readonly pod: Pod,
    private readonly forward: Forward,
    private readonly log: Logger,
  ) {}

  attach(conn: SpdyConnection): void {
    conn.once('close', () => {
      for (const t of this.targets) t.destroy();
      for (const p of this.pairs.values()) clearTimeout(p.timer);
      this.pairs.clear();
    });
  }

  /** Validates a new stream (a refusal resets it, as the kubelet's stream handler does) and pairs it. */
  readonly onStream = (s: SpdyStream): string | undefined => {
    const portText = s.header('port');
    if (!portText) return '"port" header is required';
    if (!/^\d+$/.test(portText) || Number(portText) > 65535)
      return `unable to parse "${portText}" as a port: strconv.ParseUint: parsing "${portText}": invalid syntax`;
    if (Number(portText) < 1) return `port "${portText}" must be > 0`;
    const type = s.header('streamType');
    if (!type) return '"streamType" header is required';
    if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
    // Old clients send no requestID: the kubelet derives one from the stream ids of consecutive pairs.
    const id = s.header('requestID') || String(type === 'error' ? s.id : s.id - 2);
    let p = this.pairs.get(id);
    if (!p) {
      p = { id, port: Number(portText) };
      this.pairs.set(id, p);
      const pair = p;
      p.timer = setTimeout(() => {
        if (this.pairs.get(id) !== pair) return;
        this.pairs.delete(id);
        pair.error?.end(`timed out waiting for streams`);
        pair.data?.destroy();
      }, PAIR_TIMEOUT_MS);
    }
    const slot = type === 'data' ? 'data' : 'error';
    if (p[slot]) {
      p.error?.write(`error processing stream for request ${id}: ${slot} stream already assigned`);
      return undefined;
    }
    p[slot] = s;
    if (p.data && p.error) {
      clearTimeout(p.timer);
      this.pairs.delete(id);
      void this.run(p as Required<Pair>);
    }
    return undefined;
  };

  private async run(p: Required<Pair>): Promise<void> {
    const { data, error } = p;
    let target: Duplex;
    try {
      target = await this.forward(p.port);
    } catch (e) {
      error.end(this.failure(p.port, (e as Error).message));
      data.end();
      return;
    }
    this.targets.add(target);
    let done = false;
    const finish = (message?: string) => {
      if (done) return;
      done = true;
      if (message) error.write(message);
      data.end();
      error.end();
      target.destroy();
    };
    target.on('error', (e) => {
      this.log.debug('port-forward connection failed', { port: p.port, error: e.message });
      finish(this.failure(p.port, e.message));
    });
    target.on('close', () => {
      this.targets.delete(target);
      finish();
    });
    // As the runtime's forwarder: once one direction ends, the other gets a second to finish.
    target.once('end', () => {
      data.end();
      setTimeout(() => finish(), ONE_WAY_GRACE_MS).unref();
    });
    data.once('end', () => setTimeout(() => finish(), ONE_WAY_GRACE_MS).unref());
    data.on('close', () => {
      // The client reset the data stream (its local connection went away): drop the pod side too.
      if (data.resetByPeer) target.destroy();
    });
    data.pipe(target);
    target.pipe(data, { end: false });
  }

  private failure(port: number, message: string): string {
    return forwardError(this.pod, port, message);
  }
}

/** The kubelet's words for a forward that failed (its pod is the runtime's sandbox, named here by the pod). */
function forwardError(pod: Pod, port: number, message: string): string {
  return `error forwarding port ${port} to pod ${pod.metadata?.name}, uid ${pod.metadata?.uid ?? ''}: ${message}`;
}

/** The kubelet's v4 WebSocket form: ports from the query, one data and one error channel each. */
async function serveWebSocket(
  req: IncomingMessage,
  q: URLSearchParams,
  offered: string[],
  pod: Pod,
  forward: Forward,
  log: Logger,
): Promise<void> {
  const values = q.getAll('ports');
  if (!values.length) throw new PlainHttpError(400, 'query parameter "port" is required', {}, false);
  const ports: number[] = [];
  for (const v of values) {
    if (!v) throw new PlainHttpError(400, 'query parameter "port" cannot be empty', {}, false);
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535)
        throw new PlainHttpError(
          400,
          `unable to parse "${v}" as a port: strconv.ParseUint: parsing "${p}": invalid syntax`,
          {},
          false,
        );
      if (Number(p) < 1) throw new PlainHttpError(400, `port "${v}" must be > 0`, {}, false);
      ports.push(Number(p));
    }
  }
  const protocol = offered.length ? offered.find((p) => WS_PROTOCOLS.has(p)) : '';
  if (protocol === undefined) throw new PlainHttpError(403, '', {}, false);
  const { socket, head } = takeUpgrade(req);
  let sock: ChannelSocket;
  try {
    const ws = await acceptWebSocket(req, socket, head, protocol);
    const channels: ChannelMode[] = ports.flatMap(() => ['readwrite', 'write'] as ChannelMode[]);
    sock = new ChannelSocket(ws, { base64: WS_PROTOCOLS.get(protocol)!, closeSignal: false, channels });
  } catch {
    return;
  }
  const targets: Duplex[] = [];
  sock.onClose(() => targets.forEach((t) => t.destroy()));
  await Promise.all(
    ports.map(async (port, i) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(port);
      sock.send(2 * i, prefix);
      sock.send(2 * i + 1, prefix);
      const fail = (m: string) => sock.send(2 * i + 1, Buffer.from(forwardError(pod, port, m)));
      let target: Duplex;
      try {
        target = await forward(port);
      } catch (e) {
        return fail((e as Error).message);
      }
      if (sock.closed) return void target.destroy();
      targets.push(target);
      const input = sock.input(2 * i)!;
      input.pipe(target);
      target.pipe(sock.output(2 * i), { end: false });
      await new Promise<void>((resolve) => {
        target.on('error', (e) => {
          log.debug('port-forward connection failed', { port, error: e.message });
          fail(e.message);
        });
        target.on('close', () => resolve());
        target.once('end', () => setTimeout(() => target.destroy(), ONE_WAY_GRACE_MS).unref());
      });
    }),
  );
  sock.close();
}

/**
 * What streaming requests share before their protocol starts: the pod they address (as kube-apiserver's
 * streamLocation checks it), the X-Stream-Protocol-Version negotiation (apimachinery's httpstream.Handshake), the
 * SPDY/3.1 switch, and the kubelet's plain-text refusals (Go's http.Error), which kube-apiserver relays as they are.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { KubeError } from '../../errors.js';
import { badRequest, notFound } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Pod } from '../../kubelet/types.js';
import type { ResourceRequest } from '../handlers/common.js';
import { takeUpgrade } from '../upgrade.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';

/** A refusal the kubelet writes as text (kube-apiserver proxies it unchanged). */
export class PlainHttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly headers: Record<string, string | string[]> = {},
    /** Go's http.Error appends a newline; streaming.WriteError does not. */
    readonly newline = true,
  ) {
    super(message);
  }
}

export function writePlainError(res: ServerResponse, e: PlainHttpError): void {
  if (res.headersSent || res.destroyed) return;
  const body = e.message + (e.newline ? '\n' : '');
  res.writeHead(e.code, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(body),
    ...e.headers,
  });
  res.end(body);
}

/** The pod, scheduled to this node; errors as kube-apiserver's streamLocation/PortForwardLocation word them. */
export async function scheduledPod(r: ResourceRequest, nodeName: string): Promise<Pod> {
  const pod = (await r.store.get(r.namespace, r.info.name)) as Pod;
  const node = pod.spec?.nodeName;
  if (!node) throw badRequest(`pod ${r.info.name} does not have a host assigned`);
  if (node !== nodeName) throw notFound('nodes', node);
  return pod;
}

/** kube-apiserver's container check for exec and attach: the one named, or the only one. */
export function streamContainer(pod: Pod, container: string): string {
  const name = pod.metadata?.name ?? '';
  const spec = pod.spec ?? { containers: [] };
  const names = (list: Array<{ name: string }> | undefined) => (list ?? []).map((c) => c.name);
  if (!container) {
    if (spec.containers.length === 1) return spec.containers[0].name;
    if (spec.containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    let text = `a container name must be specified for pod ${name}, choose one of: [${names(spec.containers).join(' ')}]`;
    const init = names(spec.initContainers);
    if (init.length) text += ` or one of the init containers: [${init.join(' ')}]`;
    const eph = names(spec.ephemeralContainers);
    if (eph.length) text += ` or one of the ephemeral containers: [${eph.join(' ')}]`;
    throw badRequest(text);
  }
  const all = [...names(spec.containers), ...names(spec.initContainers), ...names(spec.ephemeralContainers)];
  if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/** Streaming subresources need a protocol switch; a plain request gets kube-apiserver's 400. */
export function upgradeRequired(): KubeError {
  return badRequest('Upgrade request required');
}

const goList = (xs: string[]) => `[${xs.join(' ')}]`;

/** httpstream.Handshake: the client's first X-Stream-Protocol-Version the server speaks. */
export function negotiateStreamProtocol(headers: IncomingHttpHeaders, server: string[]): string {
  const raw = headers['x-stream-protocol-version'];
  if (raw === undefined) {
    const count = Object.keys(headers).filter((h) => h !== 'host').length;
    throw new PlainHttpError(
      400,
      `unable to upgrade: header X-Stream-Protocol-Version does not exist in request with ${count} headers`,
    );
  }
  const client = (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  if (!client.length)
    throw new PlainHttpError(
      400,
      `unable to upgrade: header X-Stream-Protocol-Version contains ${goList([String(raw)])}, but no valid protocols`,
    );
  const chosen = client.find((p) => server.includes(p));
  if (!chosen)
    throw new PlainHttpError(
      403,
      `unable to upgrade: unable to negotiate protocol: client supports ${goList(client)}, server accepts ${goList(server)}`,
      { 'X-Accepted-Stream-Protocol-Versions': server },
    );
  return chosen;
}

/** Switches the connection to SPDY/3.1 with the negotiated protocol; streams the client opens go to onStream. */
export function acceptSpdy(
  req: IncomingMessage,
  protocol: string,
  onStream: (s: SpdyStream) => string | undefined,
  log?: Logger,
): SpdyConnection {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (!connection.includes('upgrade') || !upgrade.includes('spdy/3.1'))
    throw new PlainHttpError(400, 'unable to upgrade: missing upgrade headers in request');
  const { socket, head } = takeUpgrade(req);
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Connection: Upgrade\r\n' +
      'Upgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${protocol}\r\n` +
      `Date: ${new Date().toUTCString()}\r\n\r\n`,
  );
  const conn = new SpdyConnection(socket, { onStream, ...(log ? { log } : {}) });
  if (head.length) socket.unshift(head);
  return conn;
}

/** Gathers the streams a client opens, by their streamType header, until the expected set is complete. */
export class StreamCollector {
  private readonly got = new Map<string, SpdyStream>();
  private resolve!: (m: Map<string, SpdyStream>) => void;
  private readonly done = new Promise<Map<string, SpdyStream>>((res) => (this.resolve = res));

  constructor(
    private readonly expected: number,
    private readonly accept: (s: SpdyStream) => boolean,
  ) {}

  /** For acceptSpdy: every stream is accepted, as the kubelet does; only known types count. */
  readonly onStream = (s: SpdyStream): string | undefined => {
    const type = s.header('streamType');
    if (this.accept(s) && !this.got.has(type)) {
      this.got.set(type, s);
      if (this.got.size === this.expected) this.resolve(this.got);
    }
    return undefined;
  };

  /** The streams, or an error when the client does not open them in time or goes away. */
  wait(conn: SpdyConnection, ms = 30_000): Promise<Map<string, SpdyStream>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for client to create streams')), ms);
      const gone = () => reject(new Error('connection closed before the client created its streams'));
      conn.once('close', gone);
      void this.done.then((m) => {
        clearTimeout(timer);
        conn.off('close', gone);
        resolve(m);
      });
    });
  }
}

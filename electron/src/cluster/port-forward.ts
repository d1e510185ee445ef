/**
 * Port forwards the dashboard opens: a listener on the host's 127.0.0.1 whose every accepted connection is one
 * `v4.channel.k8s.io` WebSocket to the API server's `pods/<name>/portforward?ports=<port>` (the kubelet's
 * protocol, as client libraries speak it: channel 0 data, channel 1 errors, each opened by the port as two bytes
 * little-endian). The credentials stay in ClusterAccess; the renderer sees the local URL only.
 */
import net from 'node:net';
import {
  portForwardProblem,
  type KubeStatus,
  type PortForwardInfo,
  type PortForwardRequest,
} from '@berth/common';
import type { OpenStream } from '../engine/connection.js';
import type { ClusterAccess } from './access.js';

export class PortForwardError extends Error {
  override name = 'PortForwardError';
  constructor(
    message: string,
    /** The HTTP status the web bridge answers with. */
    readonly status = 400,
  ) {
    super(message);
  }
}

const DATA = 0;
const ERROR = 1;

interface Active {
  info: PortForwardInfo;
  server: net.Server;
  sockets: Set<net.Socket>;
}

function statusMessage(body: Uint8Array, status: number): string {
  const text = Buffer.from(body).toString('utf8').trim();
  try {
    const s = JSON.parse(text) as KubeStatus;
    if (s.kind === 'Status' && s.message) return s.message;
  } catch {
    /* not a Status */
  }
  return text || `the API server answered ${status}`;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export class PortForwards {
  private next = 1;
  private active = new Map<string, Active>();

  constructor(private readonly access: ClusterAccess) {}

  list(): PortForwardInfo[] {
    return [...this.active.values()].map((a) => ({ ...a.info }));
  }

  /** Checks the pod exists (the API server's refusal verbatim), then listens. */
  async start(req: PortForwardRequest): Promise<PortForwardInfo> {
    const problem = portForwardProblem(req);
    if (problem) throw new PortForwardError(problem);
    const { context, namespace, pod, port } = req;
    const podPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}`;
    const got = await this.access.request({ context, method: 'GET', path: podPath });
    if (got.status !== 200) throw new PortForwardError(statusMessage(got.body, got.status), got.status);
    const server = net.createServer();
    const sockets = new Set<net.Socket>();
    let localPort: number;
    try {
      localPort = await listen(server, req.localPort ?? 0);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new PortForwardError(
          `port ${req.localPort} on 127.0.0.1 is taken by another program: choose another, or leave it empty for a free one`,
          409,
        );
      if (code === 'EACCES')
        throw new PortForwardError(
          `port ${req.localPort} needs administrator rights on this system: choose one above 1023`,
          403,
        );
      throw e;
    }
    const id = `pf${this.next++}`;
    const info: PortForwardInfo = {
      id,
      context,
      namespace,
      pod,
      port,
      localPort,
      url: `http://127.0.0.1:${localPort}`,
      connections: 0,
      total: 0,
      startedAt: new Date().toISOString(),
    };
    const a: Active = { info, server, sockets };
    server.on('connection', (sock) => this.connect(a, sock, `${podPath}/portforward?ports=${port}`));
    this.active.set(id, a);
    return { ...a.info };
  }

  /** Stops listening and ends the forward's open connections; false when there is no such forward. */
  stop(id: string): boolean {
    const a = this.active.get(id);
    if (!a) return false;
    this.active.delete(id);
    a.server.close();
    for (const s of a.sockets) s.destroy();
    return true;
  }

  stopAll(): void {
    for (const id of [...this.active.keys()]) this.stop(id);
  }

  private connect(a: Active, sock: net.Socket, path: string): void {
    a.sockets.add(sock);
    a.info.connections++;
    a.info.total++;
    let status = 0;
    const refused: Buffer[] = [];
    // Each channel's first two bytes name the port; what follows is the connection's bytes (or error text).
    const skip = [2, 2];
    let errorText = '';
    const stream: OpenStream = this.access.stream(
      {
        context: a.info.context,
        method: 'GET',
        path,
        subprotocols: ['v4.channel.k8s.io'],
      },
      {
        onHead: (s) => (status = s),
        onData: (chunk) => {
          if (status !== 101) return void refused.push(chunk);
          if (chunk.length < 1) return;
          const ch = chunk[0];
          let payload = chunk.subarray(1);
          if (ch !== DATA && ch !== ERROR) return;
          if (skip[ch] > 0) {
            const n = Math.min(skip[ch], payload.length);
            skip[ch] -= n;
            payload = payload.subarray(n);
          }
          if (!payload.length) return;
          if (ch === DATA) sock.write(payload);
          else errorText += payload.toString('utf8');
        },
        onEnd: (err) => {
          if (status !== 101 && status !== 0)
            a.info.lastError = statusMessage(Buffer.concat(refused), status);
          else if (errorText) a.info.lastError = errorText.trim();
          else if (err) a.info.lastError = err.message;
          if (errorText || err || status !== 101) sock.destroy();
          else sock.end();
        },
      },
    );
    sock.on('data', (d: Buffer) => stream.write(Buffer.concat([Buffer.from([DATA]), d])));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      a.sockets.delete(sock);
      a.info.connections--;
      stream.close();
    });
  }
}

/**
 * How the renderer reaches Kubernetes API servers: IPC in Electron, `berth serve`'s `/cluster` routes in web
 * mode. The host holds the kubeconfig; the renderer names a context and an API path, never a credential.
 * `stream` carries watches and log follows, and with `subprotocols` an exec WebSocket (one write, one message).
 */
import type {
  BerthBridge,
  ClusterContexts,
  ClusterRequest,
  ClusterStreamRequest,
  PortForwardInfo,
  PortForwardRequest,
} from '@berth/common';
import { relayStream, type SocketLike } from './ws-stream.js';
import { invoke, StreamDispatcher } from './ipc-transport.js';
import { encoder, type RawResponse, type StreamHandle, type StreamHandlers } from './transport.js';

export interface ClusterTransport {
  readonly kind: 'electron' | 'web';
  contexts(): Promise<ClusterContexts>;
  request(req: ClusterRequest): Promise<RawResponse>;
  stream(req: ClusterStreamRequest, h: StreamHandlers): StreamHandle;
  /** Port forwards the host holds (they outlive the page). */
  portForwards(): Promise<PortForwardInfo[]>;
  startPortForward(req: PortForwardRequest): Promise<PortForwardInfo>;
  stopPortForward(id: string): Promise<void>;
}

export class IpcClusterTransport implements ClusterTransport {
  readonly kind = 'electron' as const;
  private readonly streams = new StreamDispatcher();

  constructor(private readonly bridge: BerthBridge) {
    bridge.on('cluster:stream-event', (e) => this.streams.dispatch(e));
  }

  contexts(): Promise<ClusterContexts> {
    return invoke(this.bridge, 'cluster:contexts');
  }

  request(req: ClusterRequest): Promise<RawResponse> {
    return invoke(this.bridge, 'cluster:request', req);
  }

  portForwards(): Promise<PortForwardInfo[]> {
    return invoke(this.bridge, 'cluster:port-forwards');
  }

  startPortForward(req: PortForwardRequest): Promise<PortForwardInfo> {
    return invoke(this.bridge, 'cluster:port-forward-start', req);
  }

  async stopPortForward(id: string): Promise<void> {
    await invoke(this.bridge, 'cluster:port-forward-stop', id);
  }

  stream(req: ClusterStreamRequest, h: StreamHandlers): StreamHandle {
    let id: number | undefined;
    let closed = false;
    const queued: Uint8Array[] = [];
    invoke(this.bridge, 'cluster:stream-open', req).then(
      (got) => {
        id = got;
        this.streams.attach(got, h);
        if (closed) void invoke(this.bridge, 'cluster:stream-close', got);
        else for (const q of queued.splice(0)) void invoke(this.bridge, 'cluster:stream-write', got, q);
      },
      (err: Error) => h.onEnd(err),
    );
    return {
      write: (data) => {
        const bytes = typeof data === 'string' ? encoder.encode(data) : data;
        if (id === undefined) queued.push(bytes);
        else void invoke(this.bridge, 'cluster:stream-write', id, bytes);
      },
      close: () => {
        closed = true;
        if (id !== undefined) void invoke(this.bridge, 'cluster:stream-close', id);
      },
    };
  }
}

export interface HttpClusterOptions {
  baseUrl?: string;
  token?: string;
  fetch?: typeof fetch;
  openSocket?: (url: string, token?: string) => SocketLike;
}

export class HttpClusterTransport implements ClusterTransport {
  readonly kind = 'web' as const;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly openSocket: (url: string, token?: string) => SocketLike;

  constructor(private readonly opts: HttpClusterOptions = {}) {
    this.base = (opts.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.openSocket = opts.openSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  }

  private auth(): Record<string, string> {
    return this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {};
  }

  private async fetchRaw(url: string, init: RequestInit): Promise<RawResponse> {
    let res: Response;
    try {
      res = await this.fetchFn(url, { ...init, credentials: 'same-origin' });
    } catch (e) {
      throw new Error(`cannot reach the Berth bridge: ${(e as Error).message}`);
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { status: res.status, headers, body: new Uint8Array(await res.arrayBuffer()) };
  }

  async contexts(): Promise<ClusterContexts> {
    const r = await this.fetchRaw(`${this.base}/cluster/contexts`, { headers: this.auth() });
    const text = new TextDecoder().decode(r.body);
    if (r.status !== 200) throw new Error(`cannot read the kubeconfig: ${text}`);
    return JSON.parse(text) as ClusterContexts;
  }

  /** The bridge's port-forward routes answer a Status (with its message) when they refuse. */
  private async forwardCall<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.fetchRaw(`${this.base}/cluster/port-forwards${path}`, {
      method,
      headers: { ...this.auth(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = new TextDecoder().decode(r.body);
    if (r.status >= 300) {
      let message = text || `port forward: ${r.status}`;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        /* not JSON */
      }
      throw new Error(message);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  portForwards(): Promise<PortForwardInfo[]> {
    return this.forwardCall('GET', '');
  }

  startPortForward(req: PortForwardRequest): Promise<PortForwardInfo> {
    return this.forwardCall('POST', '', req);
  }

  async stopPortForward(id: string): Promise<void> {
    await this.forwardCall('DELETE', `/${encodeURIComponent(id)}`);
  }

  request(req: ClusterRequest): Promise<RawResponse> {
    return this.fetchRaw(`${this.base}/cluster/ctx/${encodeURIComponent(req.context)}${req.path}`, {
      method: req.method,
      headers: { ...req.headers, ...this.auth() },
      ...(req.body !== undefined ? { body: req.body } : {}),
    });
  }

  stream(req: ClusterStreamRequest, h: StreamHandlers): StreamHandle {
    const ws = this.openSocket(`${this.base.replace(/^http/, 'ws')}/ws/cluster`, this.opts.token);
    return relayStream(ws, (ws) => ws.send(JSON.stringify(req)), h, 'the Berth bridge');
  }
}

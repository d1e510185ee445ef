/** Electron: the typed `window.berth` bridge; errors come back as `{error}` and are rebuilt here. */
import {
  decodeError,
  type BerthBridge,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
  type StreamEvent,
  type EngineRequest,
  type StreamRequest,
} from '@berth/common';
import type { RawResponse, StreamHandle, StreamHandlers, Transport } from './transport.js';

export async function invoke<K extends InvokeChannel>(
  bridge: BerthBridge,
  channel: K,
  ...args: InvokeArgs<K>
): Promise<InvokeResult<K>> {
  const r = await bridge.invoke(channel, ...args);
  if ('error' in r) throw decodeError(r.error);
  return r.result;
}

/** Routes stream events to their handlers by id; events that arrive before open answered wait for it. */
export class StreamDispatcher {
  private handlers = new Map<number, StreamHandlers>();
  private early = new Map<number, StreamEvent[]>();

  dispatch(e: StreamEvent): void {
    const h = this.handlers.get(e.id);
    if (!h) {
      const q = this.early.get(e.id) ?? [];
      q.push(e);
      this.early.set(e.id, q);
      return;
    }
    if (e.kind === 'head') h.onHead?.(e.status, e.headers);
    else if (e.kind === 'data') h.onData(e.data);
    else {
      this.handlers.delete(e.id);
      h.onEnd(e.error ? decodeError(e.error) : undefined);
    }
  }

  attach(id: number, h: StreamHandlers): void {
    this.handlers.set(id, h);
    for (const e of this.early.get(id) ?? []) this.dispatch(e);
    this.early.delete(id);
  }
}

export class IpcTransport implements Transport {
  readonly kind = 'electron' as const;
  private readonly streams = new StreamDispatcher();

  constructor(private readonly bridge: BerthBridge) {
    bridge.on('engine:stream-event', (e) => this.streams.dispatch(e));
  }

  request(req: EngineRequest): Promise<RawResponse> {
    return invoke(this.bridge, 'engine:request', req);
  }

  stream(req: StreamRequest, h: StreamHandlers): StreamHandle {
    let id: number | undefined;
    let closed = false;
    const queued: Uint8Array[] = [];
    const enc = new TextEncoder();
    invoke(this.bridge, 'engine:stream-open', req).then(
      (got) => {
        id = got;
        this.streams.attach(got, h);
        if (closed) void invoke(this.bridge, 'engine:stream-close', got);
        else for (const q of queued.splice(0)) void invoke(this.bridge, 'engine:stream-write', got, q);
      },
      (err: Error) => h.onEnd(err),
    );
    return {
      write: (data) => {
        const bytes = typeof data === 'string' ? enc.encode(data) : data;
        if (id === undefined) queued.push(bytes);
        else void invoke(this.bridge, 'engine:stream-write', id, bytes);
      },
      close: () => {
        closed = true;
        if (id !== undefined) void invoke(this.bridge, 'engine:stream-close', id);
      },
    };
  }
}

/** IPC handlers for engine requests and streams (the Electron transport of the renderer's EngineClient). */
import type { StreamEvent } from '@berth/common';
import { engineRequest, openEngineStream, type OpenStream } from '../engine/connection.js';
import type { EngineEndpoint } from '../engine/endpoint.js';
import type { CallContext, InvokeHandlers } from './handle.js';

type EngineChannels = 'engine:request' | 'engine:stream-open' | 'engine:stream-write' | 'engine:stream-close';

export class StreamRegistry {
  private next = 1;
  private open = new Map<number, { owner: number; stream: OpenStream }>();

  constructor(private readonly ep: EngineEndpoint) {}

  handlers(): Pick<InvokeHandlers, EngineChannels> {
    return {
      'engine:request': (_ctx, req) => engineRequest(this.ep, req),
      'engine:stream-open': (ctx, req) => this.openStream(ctx, req),
      // IPC hands a copy per call, so there is nothing to hold back: the renderer awaits each write.
      'engine:stream-write': async (ctx, id, data) => {
        const s = this.owned(ctx, id);
        if (s && !s.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) await s.drained();
      },
      'engine:stream-close': (ctx, id) => {
        this.owned(ctx, id)?.close();
      },
    };
  }

  private openStream(ctx: CallContext, req: Parameters<InvokeHandlers['engine:stream-open']>[1]): number {
    const id = this.next++;
    const emit = (e: StreamEvent) => ctx.send('engine:stream-event', e);
    const stream = openEngineStream(this.ep, req, {
      onHead: (status, headers) => emit({ id, kind: 'head', status, headers }),
      onData: (chunk) => emit({ id, kind: 'data', data: new Uint8Array(chunk) }),
      onEnd: (err) => {
        this.open.delete(id);
        emit(
          err ? { id, kind: 'end', error: { name: err.name, message: err.message } } : { id, kind: 'end' },
        );
      },
    });
    this.open.set(id, { owner: ctx.senderId, stream });
    return id;
  }

  /** A window may only touch its own streams. */
  private owned(ctx: CallContext, id: number): OpenStream | undefined {
    const s = this.open.get(id);
    return s && s.owner === ctx.senderId ? s.stream : undefined;
  }

  /** A window closed or reloaded: end what it left open. */
  closeOwnedBy(senderId: number): void {
    for (const [, s] of this.open) if (s.owner === senderId) s.stream.close();
  }

  get size(): number {
    return this.open.size;
  }
}

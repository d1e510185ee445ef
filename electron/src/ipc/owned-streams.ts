/**
 * The streams a window opened over IPC (engine and cluster alike): numbered, each owned by the window that opened
 * it (another window cannot write to or close it), their head, data and end sent back as StreamEvents on one
 * channel, and ended when their window closes or reloads.
 */
import type { StreamEvent } from '@berth/common';
import { endMessage, type OpenStream, type StreamSink } from '../engine/connection.js';
import type { CallContext } from './handle.js';

export class OwnedStreams {
  private next = 1;
  private readonly open = new Map<number, { owner: number; stream: OpenStream }>();

  /** `eventChannel`: where this kind of stream's events go (`engine:stream-event`, `cluster:stream-event`). */
  constructor(private readonly eventChannel: string) {}

  start(ctx: CallContext, connect: (sink: StreamSink) => OpenStream): number {
    const id = this.next++;
    const emit = (e: StreamEvent) => ctx.send(this.eventChannel, e);
    const stream = connect({
      onHead: (status, headers) => emit({ id, kind: 'head', status, headers }),
      onData: (chunk) => emit({ id, kind: 'data', data: new Uint8Array(chunk) }),
      onEnd: (err) => {
        this.open.delete(id);
        emit({ id, ...endMessage(err) });
      },
    });
    this.open.set(id, { owner: ctx.senderId, stream });
    return id;
  }

  /** IPC hands a copy per call, so there is nothing to hold back: the renderer awaits each write. */
  async write(ctx: CallContext, id: number, data: Uint8Array): Promise<void> {
    const s = this.owned(ctx, id);
    if (s && !s.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) await s.drained();
  }

  close(ctx: CallContext, id: number): void {
    this.owned(ctx, id)?.close();
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

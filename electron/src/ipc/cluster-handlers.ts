/** IPC handlers for the renderer's ClusterClient in Electron: contexts, requests and streams (watch, logs, exec). */
import type { StreamEvent } from '@berth/common';
import type { ClusterAccess } from '../cluster/access.js';
import { PortForwards } from '../cluster/port-forward.js';
import type { OpenStream } from '../engine/connection.js';
import type { CallContext, InvokeHandlers } from './handle.js';

type ClusterChannels =
  | 'cluster:contexts'
  | 'cluster:request'
  | 'cluster:stream-open'
  | 'cluster:stream-write'
  | 'cluster:stream-close'
  | 'cluster:port-forward-start'
  | 'cluster:port-forwards'
  | 'cluster:port-forward-stop';

export class ClusterStreams {
  private next = 1;
  private open = new Map<number, { owner: number; stream: OpenStream }>();

  readonly forwards: PortForwards;

  constructor(private readonly access: ClusterAccess) {
    this.forwards = new PortForwards(access);
  }

  handlers(): Pick<InvokeHandlers, ClusterChannels> {
    return {
      'cluster:contexts': () => this.access.contexts(),
      'cluster:request': (_ctx, req) => this.access.request(req),
      'cluster:stream-open': (ctx, req) => this.openStream(ctx, req),
      'cluster:stream-write': (ctx, id, data) => {
        this.owned(ctx, id)?.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      },
      'cluster:stream-close': (ctx, id) => {
        this.owned(ctx, id)?.close();
      },
      'cluster:port-forward-start': (_ctx, req) => this.forwards.start(req),
      'cluster:port-forwards': () => this.forwards.list(),
      'cluster:port-forward-stop': (_ctx, id) => this.forwards.stop(id),
    };
  }

  private openStream(ctx: CallContext, req: Parameters<InvokeHandlers['cluster:stream-open']>[1]): number {
    const id = this.next++;
    const emit = (e: StreamEvent) => ctx.send('cluster:stream-event', e);
    const stream = this.access.stream(req, {
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

  closeOwnedBy(senderId: number): void {
    for (const [, s] of this.open) if (s.owner === senderId) s.stream.close();
  }
}

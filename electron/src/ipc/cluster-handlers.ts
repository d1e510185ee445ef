/** IPC handlers for the renderer's ClusterClient in Electron: contexts, requests and streams (watch, logs, exec). */
import type { ClusterAccess } from '../cluster/access.js';
import { PortForwards } from '../cluster/port-forward.js';
import type { InvokeHandlers } from './handle.js';
import { OwnedStreams } from './owned-streams.js';

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
  private readonly streams = new OwnedStreams('cluster:stream-event');
  readonly forwards: PortForwards;

  constructor(private readonly access: ClusterAccess) {
    this.forwards = new PortForwards(access);
  }

  handlers(): Pick<InvokeHandlers, ClusterChannels> {
    return {
      'cluster:contexts': () => this.access.contexts(),
      'cluster:request': (_ctx, req) => this.access.request(req),
      'cluster:stream-open': (ctx, req) => this.streams.start(ctx, (sink) => this.access.stream(req, sink)),
      'cluster:stream-write': (ctx, id, data) => this.streams.write(ctx, id, data),
      'cluster:stream-close': (ctx, id) => this.streams.close(ctx, id),
      'cluster:port-forward-start': (_ctx, req) => this.forwards.start(req),
      'cluster:port-forwards': () => this.forwards.list(),
      'cluster:port-forward-stop': (_ctx, id) => this.forwards.stop(id),
    };
  }

  closeOwnedBy(senderId: number): void {
    this.streams.closeOwnedBy(senderId);
  }
}

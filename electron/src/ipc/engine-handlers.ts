/** IPC handlers for engine requests and streams (the Electron transport of the renderer's EngineClient). */
import { engineRequest, openEngineStream } from '../engine/connection.js';
import type { EngineEndpoint } from '../engine/endpoint.js';
import type { InvokeHandlers } from './handle.js';
import { OwnedStreams } from './owned-streams.js';

type EngineChannels = 'engine:request' | 'engine:stream-open' | 'engine:stream-write' | 'engine:stream-close';

export class StreamRegistry {
  private readonly streams = new OwnedStreams('engine:stream-event');

  constructor(private readonly ep: EngineEndpoint) {}

  handlers(): Pick<InvokeHandlers, EngineChannels> {
    return {
      'engine:request': (_ctx, req) => engineRequest(this.ep, req),
      'engine:stream-open': (ctx, req) =>
        this.streams.start(ctx, (sink) => openEngineStream(this.ep, req, sink)),
      'engine:stream-write': (ctx, id, data) => this.streams.write(ctx, id, data),
      'engine:stream-close': (ctx, id) => this.streams.close(ctx, id),
    };
  }

  /** A window closed or reloaded: end what it left open. */
  closeOwnedBy(senderId: number): void {
    this.streams.closeOwnedBy(senderId);
  }

  get size(): number {
    return this.streams.size;
  }
}

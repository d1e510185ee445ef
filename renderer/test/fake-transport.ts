/** A recording Transport for store tests: answers from a route table, like the engine would. */
import type { EngineRequest, StreamRequest } from '@berth/common';
import type { RawResponse, StreamHandle, StreamHandlers, Transport } from '../src/api/transport.js';

export type Reply = { status: number; body?: unknown };
export type Route = (req: EngineRequest) => Reply | undefined;

const enc = new TextEncoder();

export class FakeTransport implements Transport {
  readonly kind = 'web' as const;
  readonly calls: EngineRequest[] = [];
  streams: { req: StreamRequest; h: StreamHandlers; closed: boolean }[] = [];

  constructor(private readonly routes: Route[]) {}

  async request(req: EngineRequest): Promise<RawResponse> {
    this.calls.push(req);
    for (const r of this.routes) {
      const reply = r(req);
      if (reply)
        return {
          status: reply.status,
          headers: {},
          body: enc.encode(reply.body === undefined ? '' : JSON.stringify(reply.body)),
        };
    }
    return { status: 404, headers: {}, body: enc.encode(JSON.stringify({ message: 'page not found' })) };
  }

  stream(req: StreamRequest, h: StreamHandlers): StreamHandle {
    const s = { req, h, closed: false };
    this.streams.push(s);
    return { write: () => undefined, close: () => void (s.closed = true) };
  }
}

export function route(
  method: string,
  pathPrefix: string,
  reply: Reply | ((req: EngineRequest) => Reply),
): Route {
  return (req) =>
    req.method === method && req.path.startsWith(pathPrefix)
      ? typeof reply === 'function'
        ? reply(req)
        : reply
      : undefined;
}

/**
 * The WebSocket relay both bridges speak (the engine's `/ws`, the cluster's `/ws/cluster`): the page's first text
 * frame is a JSON request, checked by the bridge's `parse`; the answer is one text frame `{"kind":"head",...}`,
 * then the upstream's bytes as binary frames, and a final `{"kind":"end",error?}` before the close. The page's
 * binary frames go upstream, holding the page back while the upstream is slower.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { endMessage, type OpenStream, type StreamSink } from '../engine/connection.js';

export interface WsBridge {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function toBuffer(d: RawData): Buffer {
  if (Buffer.isBuffer(d)) return d;
  if (Array.isArray(d)) return Buffer.concat(d);
  return Buffer.from(d);
}

export function createWsRelay<R>(
  parse: (text: string) => R,
  open: (req: R, sink: StreamSink) => OpenStream,
): WsBridge {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws: WebSocket) => {
    let stream: OpenStream | undefined;
    ws.on('message', (data, isBinary) => {
      if (stream === undefined) {
        if (isBinary) return ws.close(1008, 'first message must be a stream request');
        let req: R;
        try {
          req = parse(toBuffer(data).toString('utf8'));
        } catch (e) {
          ws.send(JSON.stringify(endMessage(e as Error)));
          return ws.close(1008, 'bad request');
        }
        stream = open(req, {
          onHead: (status, headers) => ws.send(JSON.stringify({ kind: 'head', status, headers })),
          onData: (chunk) => ws.send(chunk, { binary: true }),
          onEnd: (err) => {
            if (ws.readyState !== ws.OPEN) return;
            ws.send(JSON.stringify(endMessage(err)));
            ws.close(1000);
          },
        });
        return;
      }
      // The upstream is slower than the socket (a large build context): hold the client back.
      if (isBinary && !stream.write(toBuffer(data))) {
        ws.pause();
        void stream.drained().then(() => ws.resume());
      }
    });
    ws.on('close', () => stream?.close());
    ws.on('error', () => stream?.close());
  });
  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

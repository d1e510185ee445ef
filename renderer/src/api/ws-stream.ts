/**
 * The page's side of the bridges' WebSocket relay (`/ws` for the engine, `/ws/cluster`): send the request's
 * frames once open, then read one `head`, the binary data and one `end`; writes made before the socket opens
 * wait for it.
 */
import { concatBytes } from './streams.js';
import { encoder, type StreamHandle, type StreamHandlers } from './transport.js';

/** The part of the WebSocket API we use (the browser's, or `ws` in Node tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export function dataToBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // `ws` may hand fragments as an array of Buffers.
  if (Array.isArray(data)) return concatBytes(data as Uint8Array[]);
  return encoder.encode(String(data));
}

/**
 * Runs one relayed stream over `ws`: `sendRequest` writes the request frames on open; `bridge` names the far end
 * in the errors ("the engine bridge", "the Berth bridge").
 */
export function relayStream(
  ws: SocketLike,
  sendRequest: (ws: SocketLike) => void,
  h: StreamHandlers,
  bridge: string,
): StreamHandle {
  ws.binaryType = 'arraybuffer';
  let ended = false;
  let open = false;
  const pending: Uint8Array[] = [];
  const end = (err?: Error) => {
    if (ended) return;
    ended = true;
    h.onEnd(err);
  };
  ws.onopen = () => {
    open = true;
    sendRequest(ws);
    for (const p of pending.splice(0)) ws.send(p);
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      const msg = JSON.parse(ev.data) as {
        kind: string;
        status?: number;
        headers?: Record<string, string>;
        error?: { message: string };
      };
      if (msg.kind === 'head') h.onHead?.(msg.status ?? 0, msg.headers ?? {});
      else if (msg.kind === 'end') end(msg.error ? new Error(msg.error.message) : undefined);
      return;
    }
    h.onData(dataToBytes(ev.data));
  };
  ws.onclose = (ev) =>
    end(
      ev.code === 1000 || ev.code === 1005
        ? undefined
        : new Error(`connection to ${bridge} closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`),
    );
  ws.onerror = () => end(new Error(`cannot connect to ${bridge}`));
  return {
    write(data) {
      const bytes = typeof data === 'string' ? encoder.encode(data) : data;
      if (open) ws.send(bytes);
      else pending.push(bytes);
    },
    close() {
      ws.close(1000);
      end();
    },
  };
}

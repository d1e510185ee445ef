/** How the renderer reaches the engine: IPC in Electron, HTTP + WebSocket in web mode. Same contract. */
import type { EngineRequest, StreamRequest } from '@berth/common';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface StreamHandlers {
  onHead?(status: number, headers: Record<string, string>): void;
  onData(chunk: Uint8Array): void;
  onEnd(err?: Error): void;
}

export interface StreamHandle {
  /** Bytes to the engine (stdin of a hijacked attach/exec). */
  write(data: Uint8Array | string): void;
  close(): void;
}

export interface Transport {
  readonly kind: 'electron' | 'web';
  request(req: EngineRequest): Promise<RawResponse>;
  stream(req: StreamRequest, handlers: StreamHandlers): StreamHandle;
}

export const encoder = new TextEncoder();

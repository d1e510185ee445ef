/**
 * WebSocket bridge for long-lived engine streams (events, logs follow, stats, pull) and hijacked
 * attach/exec connections. Browsers cap HTTP/1.1 connections per host at six, so long streams ride on
 * WebSockets instead of fetch.
 *
 * Protocol: the client's first text frame is a StreamRequest (JSON). A binary body (a build context, an
 * archive) cannot ride in JSON: the request says `bodyLength` and the body follows as that many bytes of
 * binary frames. The bridge answers one text frame `{"kind":"head",status,headers}`, then the engine's bytes
 * as binary frames; the client's further binary frames go to the engine (stdin of a hijacked connection).
 * A final text frame `{"kind":"end",error?}` precedes the close.
 */
import type { StreamRequest } from '@berth/common';
import { openEngineStream } from '../engine/connection.js';
import type { EngineEndpoint } from '../engine/endpoint.js';
import { createWsRelay, type WsBridge } from './ws-relay.js';

const ENGINE_PATH = /^\/(v\d+\.\d+\/|_ping)/;

export function parseStreamRequest(text: string): StreamRequest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('first message must be a JSON stream request');
  }
  const o = v as Partial<StreamRequest>;
  if (typeof o !== 'object' || o === null || typeof o.method !== 'string' || typeof o.path !== 'string')
    throw new Error('stream request needs method and path');
  if (!ENGINE_PATH.test(o.path)) throw new Error(`not an engine path: ${o.path}`);
  const req: StreamRequest = { method: o.method.toUpperCase(), path: o.path };
  if (o.headers && typeof o.headers === 'object')
    req.headers = Object.fromEntries(Object.entries(o.headers).filter(([, x]) => typeof x === 'string'));
  if (o.body !== undefined && typeof o.body !== 'string')
    throw new Error('a binary body must follow as binary frames (bodyLength), not inside the JSON');
  if (typeof o.body === 'string') req.body = o.body;
  if (o.bodyLength !== undefined) {
    if (!Number.isSafeInteger(o.bodyLength) || o.bodyLength < 0 || req.body !== undefined)
      throw new Error('bodyLength must be a whole number of bytes, without a JSON body');
    req.bodyLength = o.bodyLength;
  }
  if (o.hijack === true) req.hijack = true;
  return req;
}

export function createWsBridge(ep: EngineEndpoint): WsBridge {
  return createWsRelay(parseStreamRequest, (req, sink) => openEngineStream(ep, req, sink));
}

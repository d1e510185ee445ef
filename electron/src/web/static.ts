/** Serves the built renderer (renderer/dist) with a strict CSP; unknown paths get index.html's 404. */
import { createReadStream, promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * Scripts only from this origin. Styles allow inline because xterm.js and Vue's style bindings add them;
 * no remote content of any kind.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://berth');
  let rel = decodeURIComponent(url.pathname);
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = path.resolve(root, '.' + rel);
  // Refuse anything outside the UI folder (`..`, encoded separators).
  if (file !== root && !file.startsWith(root + path.sep)) {
    res
      .writeHead(403, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ message: 'forbidden path' }));
    return;
  }
  let st;
  try {
    st = await fsp.stat(file);
  } catch {
    st = undefined;
  }
  if (!st?.isFile()) {
    res
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ message: `no such file: ${rel}` }));
    return;
  }
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  // Hashed assets never change; index.html must always be fresh.
  const cache = rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, {
    ...securityHeaders(),
    'Content-Type': type,
    'Content-Length': st.size,
    'Cache-Control': cache,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}

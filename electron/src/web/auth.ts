/**
 * Web mode access control. The engine is root-equivalent, so every request needs the token printed by
 * `berth serve`: as `Authorization: Bearer`, or the HttpOnly SameSite=Strict cookie set when the printed
 * URL (`/?token=...`) is opened. Host and Origin are checked too, against DNS rebinding and other sites.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'berth_token';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return cookieValue(req.headers.cookie, COOKIE);
}

export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const t = presentedToken(req);
  return t !== undefined && sameToken(t, token);
}

/** Only names that resolve to this machine may address the bridge. */
export function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(hostHeader.toLowerCase());
}

/** Browsers send Origin on WebSocket handshakes and cross-origin fetches; it must be ours when present. */
export function originAllowed(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && hostAllowed(u.host, port);
  } catch {
    return false;
  }
}

export function tokenCookie(token: string): string {
  return `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

export function checkToken(candidate: string | null, token: string): boolean {
  return candidate !== null && sameToken(candidate, token);
}

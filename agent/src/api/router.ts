/** A small typed router: Docker paths like `/images/{name*}/json`, version prefixes stripped by the server. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** API version the client asked for (from the /vX.Y prefix), or the server's. */
  apiVersion: string;
  /** Present when the client asked to upgrade the connection (attach, exec start). */
  upgrade?: { socket: Duplex; head: Buffer };
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    // `{x*}` matches across slashes (image names such as localhost:5000/a/b:tag); `{x}` does not.
    const src = pattern
      .replace(/[.+?^$()|[\]\\]/g, '\\$&')
      .replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => {
        names.push(name);
        return star ? '(.+?)' : '([^/]+)';
      });
    this.routes.push({ method, re: new RegExp(`^${src}$`), names, handler });
    return this;
  }

  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  put(p: string, h: Handler): this {
    return this.add('PUT', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }
  head(p: string, h: Handler): this {
    return this.add('HEAD', p, h);
  }

  /** Returns the handler and params, 'method' when the path exists under another method, or undefined. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let other = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method) {
        other = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]);
      });
      return { handler: r.handler, params };
    }
    return other ? 'method' : undefined;
  }
}

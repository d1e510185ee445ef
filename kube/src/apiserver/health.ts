/**
 * /healthz, /livez and /readyz with kube-apiserver's text answers: "ok", or with ?verbose one line per check
 * ("[+]etcd ok") and "<name> check passed"; a failing check is 500 with "[-]<check> failed: reason withheld".
 * /readyz also waits for the start-up work (system namespaces, the kubernetes Service).
 */
import type { ServerResponse } from 'node:http';

export type Check = { name: string; run(): Promise<void> | void };

export class Health {
  private readonly live: Check[] = [
    { name: 'ping', run: () => undefined },
    { name: 'log', run: () => undefined },
  ];
  private readonly ready: Check[] = [];

  addLive(c: Check): void {
    this.live.push(c);
    this.ready.push(c);
  }

  addReady(c: Check): void {
    this.ready.push(c);
  }

  /** Answers /healthz, /livez, /readyz and their /<check> paths; false when the path is none of them. */
  async serve(path: string, query: URLSearchParams, res: ServerResponse): Promise<boolean> {
    const m = /^\/(healthz|livez|readyz)(?:\/(.+))?\/?$/.exec(path);
    if (!m) return false;
    const kind = m[1];
    const checks =
      kind === 'readyz' ? [...this.live, ...this.ready.filter((c) => !this.live.includes(c))] : this.live;
    const only = m[2];
    const excluded = new Set(query.getAll('exclude'));
    const selected = only
      ? checks.filter((c) => c.name === only)
      : checks.filter((c) => !excluded.has(c.name));
    if (only && !selected.length) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return true;
    }
    const lines: string[] = [];
    let ok = true;
    for (const c of selected) {
      try {
        await c.run();
        lines.push(`[+]${c.name} ok`);
      } catch {
        ok = false;
        lines.push(`[-]${c.name} failed: reason withheld`);
      }
    }
    const verbose = query.has('verbose') || !ok;
    const name = kind === 'healthz' ? 'healthz' : kind;
    const body =
      verbose && !only
        ? `${lines.join('\n')}\n${name} check ${ok ? 'passed' : 'failed'}\n`
        : ok
          ? 'ok'
          : `${lines.join('\n')}\n${name} check failed\n`;
    res.writeHead(ok ? 200 : 500, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache, private',
    });
    res.end(body);
    return true;
  }
}

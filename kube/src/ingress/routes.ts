/**
 * The routing table of the Ingresses this controller serves, rebuilt whole on each change: hosts (exact first, then
 * `*.wildcard` for exactly one leading label, then rules without a host), paths as networking.k8s.io/v1 defines
 * them (Exact; Prefix element by element, a trailing slash ignored; ImplementationSpecific taken as Prefix), the
 * longest matching path winning with Exact before Prefix on a tie and the older Ingress before the newer, then the
 * oldest Ingress's defaultBackend. Pure: no I/O, unit-tested in kube/test/ingress-routes.test.ts.
 */

export interface ServiceBackend {
  namespace: string;
  service: string;
  port: { number?: number; name?: string };
}

export interface IngressShape {
  metadata?: { namespace?: string; name?: string; creationTimestamp?: string };
  spec?: {
    defaultBackend?: BackendShape;
    rules?: Array<{
      host?: string;
      http?: { paths?: Array<{ path?: string; pathType?: string; backend?: BackendShape }> };
    }>;
    tls?: Array<{ hosts?: string[]; secretName?: string }>;
  };
}

interface BackendShape {
  service?: { name?: string; port?: { number?: number; name?: string } };
  resource?: unknown;
}

export interface RouteMatch {
  /** namespace/name of the Ingress whose rule matched. */
  ingress: string;
  /** Absent for a `resource` backend, which this controller does not serve. */
  backend?: ServiceBackend;
}

interface Route extends RouteMatch {
  exact: boolean;
  /** Exact: the path; Prefix: its elements (no empty ones). */
  path: string;
  elements: string[];
  /** Ingress age order: lower is older. */
  order: number;
}

export interface TlsRef {
  namespace: string;
  secretName: string;
}

const ingressKey = (i: IngressShape) => `${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}`;
const splitPath = (p: string) => p.split('/').filter((e) => e !== '');

/** A request's Host header (or TLS server name) as a rule host: lower case, no port, no trailing dot. */
export function normalizeHost(host: string | undefined): string {
  let h = (host ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && h.indexOf(':') === colon) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** `*.example.com` matches `a.example.com` only: one label, never the bare domain, never `a.b.example.com`. */
export function wildcardMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot) === pattern.slice(1);
}

function backendOf(namespace: string, b: BackendShape | undefined): ServiceBackend | undefined {
  if (!b?.service?.name) return undefined;
  return {
    namespace,
    service: b.service.name,
    port: {
      ...(b.service.port?.number ? { number: b.service.port.number } : {}),
      ...(b.service.port?.name ? { name: b.service.port.name } : {}),
    },
  };
}

function pathMatches(r: Route, path: string, elements: string[]): boolean {
  if (r.exact) return path === r.path;
  if (r.elements.length > elements.length) return false;
  return r.elements.every((e, i) => elements[i] === e);
}

export class RouteTable {
  private readonly exact = new Map<string, Route[]>();
  private readonly wildcard = new Map<string, Route[]>();
  private readonly any: Route[] = [];
  private readonly defaultBackend?: RouteMatch;
  private readonly tlsHosts: Array<{ host: string; ref: TlsRef }> = [];
  private readonly tlsAny: TlsRef[] = [];

  /** `ingresses` are those this controller serves; they are ordered here by age, then namespace/name. */
  constructor(ingresses: IngressShape[]) {
    const sorted = [...ingresses].sort(
      (a, b) =>
        (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
        ingressKey(a).localeCompare(ingressKey(b)),
    );
    for (const [order, ing] of sorted.entries()) {
      const ns = ing.metadata?.namespace ?? '';
      const key = ingressKey(ing);
      if (!this.defaultBackend && ing.spec?.defaultBackend)
        this.defaultBackend = {
          ingress: key,
          ...(backendOf(ns, ing.spec.defaultBackend)
            ? { backend: backendOf(ns, ing.spec.defaultBackend) }
            : {}),
        };
      for (const rule of ing.spec?.rules ?? []) {
        const host = (rule.host ?? '').toLowerCase();
        const group = !host
          ? this.any
          : host.startsWith('*.')
            ? this.bucket(this.wildcard, host)
            : this.bucket(this.exact, host);
        for (const p of rule.http?.paths ?? []) {
          const exact = p.pathType === 'Exact';
          const path = p.path || '/';
          const backend = backendOf(ns, p.backend);
          group.push({
            ingress: key,
            ...(backend ? { backend } : {}),
            exact,
            path,
            elements: splitPath(path),
            order,
          });
        }
      }
      for (const t of ing.spec?.tls ?? []) {
        if (!t.secretName) continue;
        const ref = { namespace: ns, secretName: t.secretName };
        if (!t.hosts?.length) this.tlsAny.push(ref);
        for (const h of t.hosts ?? []) this.tlsHosts.push({ host: h.toLowerCase(), ref });
      }
    }
  }

  private bucket(m: Map<string, Route[]>, host: string): Route[] {
    let b = m.get(host);
    if (!b) m.set(host, (b = []));
    return b;
  }

  get empty(): boolean {
    return !this.exact.size && !this.wildcard.size && !this.any.length && !this.defaultBackend;
  }

  /** The route for a request, or undefined (404). `rawPath` may carry a query string. */
  match(hostHeader: string | undefined, rawPath: string): RouteMatch | undefined {
    const host = normalizeHost(hostHeader);
    const q = rawPath.indexOf('?');
    const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
    const elements = splitPath(path);
    const dot = host.indexOf('.');
    const groups = [
      this.exact.get(host),
      dot > 0 ? this.wildcard.get(`*${host.slice(dot)}`) : undefined,
      this.any,
    ];
    for (const g of groups) {
      let best: Route | undefined;
      for (const r of g ?? []) {
        if (!pathMatches(r, path, elements)) continue;
        if (!best || better(r, best)) best = r;
      }
      if (best) return { ingress: best.ingress, ...(best.backend ? { backend: best.backend } : {}) };
    }
    return this.defaultBackend;
  }

  /** The Secret whose certificate serves `serverName` (SNI): an exact host first, then a wildcard, then a TLS
   * entry without hosts; undefined means the default certificate. */
  tlsFor(serverName: string | undefined): TlsRef | undefined {
    const host = normalizeHost(serverName);
    if (host) {
      const exact = this.tlsHosts.find((t) => t.host === host);
      if (exact) return exact.ref;
      const wild = this.tlsHosts.find((t) => wildcardMatches(t.host, host));
      if (wild) return wild.ref;
    }
    return this.tlsAny[0];
  }

  /** Every Secret the table refers to (to know which Secret changes matter). */
  secrets(): TlsRef[] {
    return [...this.tlsHosts.map((t) => t.ref), ...this.tlsAny];
  }
}

/** Longer paths first; on equal length Exact before Prefix; then the older Ingress. */
function better(a: Route, b: Route): boolean {
  const la = a.elements.join('/').length;
  const lb = b.elements.join('/').length;
  if (la !== lb) return la > lb;
  if (a.exact !== b.exact) return a.exact;
  return a.order < b.order;
}

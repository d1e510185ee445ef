/**
 * The HTTPS front of the API server: authentication (client certificates, then whatever a later engineer chains
 * in), authorization, then the routes: health, /version, discovery, OpenAPI, and resource requests. Errors leave
 * as a Status, mapped once (status.ts).
 */
import { createServer, type Server } from 'node:https';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { KubeError, unauthorized } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResourceCatalog } from '../registry/catalog.js';
import type { Registry } from '../registry/generic/registry.js';
import type { RequestUser } from '../registry/types.js';
import type { OpenApiService } from '../schema/openapi/service.js';
import type { AuthenticatorChain } from './auth/authenticator.js';
import type { AuthorizerChain } from './auth/authorizer.js';
import { forbiddenError, type AuthorizationAttributes } from './auth/authorizer.js';
import { impersonate } from './auth/impersonation.js';
import type { Discovery } from './discovery.js';
import { dispatch, legacyBinding, methodNotAllowed, notServed, type Connector } from './handlers/dispatch.js';
import { decodeRequest } from './handlers/write.js';
import { type ResourceRequest } from './handlers/common.js';
import { getObject, listObjects } from './handlers/read.js';
import type { Health } from './health.js';
import { negotiate, contentTypeOf } from './negotiation.js';
import { requestInfo, type RequestInfo } from './request-info.js';
import { warningHeader, writeError, writeObject } from './respond.js';
import { componentStatuses, review, REVIEWS, type TokenReviewer } from './reviews.js';
import { registerUpgrade } from './upgrade.js';
import { KUBE_VERSION } from './version.js';

export interface ApiServerDeps {
  registry: Registry;
  catalog: ResourceCatalog;
  discovery: Discovery;
  openapi: OpenApiService;
  health: Health;
  authn: AuthenticatorChain;
  authz: AuthorizerChain;
  log: Logger;
  /**
   * Streaming subresources by "plural/subresource" (pods/log, pods/exec...) and virtual resources by
   * "group/version/plural" (metrics.k8s.io), registered by the kubelet side.
   */
  connectors: Map<string, Connector>;
  /** TokenReview's authenticator (service-account tokens). */
  tokenReviewer?: TokenReviewer;
}

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export class ApiServer {
  readonly server: Server;
  /** Upgraded connections (exec, attach, port-forward sessions): ended with the server. */
  private readonly upgraded = new Set<Duplex>();
  /**
   * Every TCP connection, whatever became of it (mid-handshake, upgraded, answered with an error and half
   * closed): server.close() waits for all of them, so close() destroys them all or a stuck peer holds shutdown.
   */
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly deps: ApiServerDeps,
    tls: TlsMaterial,
  ) {
    this.server = createServer(
      {
        key: tls.keyPem,
        cert: tls.certPem,
        ca: tls.caPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => void this.handle(req, res),
    );
    // Upgrades (exec, attach, port-forward, proxied WebSockets) go through the same pipeline; see upgrade.ts.
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const res = new ServerResponse(req);
      registerUpgrade(req, socket, head, res, this.upgraded);
      void this.handle(req, res);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    // Watches stay open for their timeout; idle keep-alive sockets go after kubectl's usual pause.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
    this.server.keepAliveTimeout = 65_000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let user: RequestUser | undefined;
    try {
      const url = new URL(req.url ?? '/', 'https://kubernetes');
      const auth = await this.deps.authn.authenticate(req);
      if ('rejected' in auth) {
        this.deps.log.debug('authentication failed', { reason: auth.rejected });
        throw unauthorized();
      }
      user = await impersonate(req, auth.user, this.deps.authz);
      const info = requestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
      await this.authorize(info, user);
      await this.route(req, res, url, info, user);
    } catch (err) {
      await writeError(res, err, this.deps.log);
    } finally {
      this.deps.log.debug('request', {
        method: req.method,
        path: req.url,
        user: user?.name,
        code: res.statusCode,
        ms: Math.round(performance.now() - started),
      });
    }
  }

  private async authorize(info: RequestInfo, user: RequestUser): Promise<void> {
    const a: AuthorizationAttributes = info.resourceRequest
      ? {
          user,
          verb: info.verb,
          resourceRequest: true,
          apiGroup: info.apiGroup,
          apiVersion: info.apiVersion,
          resource: info.resource,
          subresource: info.subresource,
          namespace: info.namespace,
          name: info.name,
        }
      : { user, verb: info.verb, resourceRequest: false, path: info.path };
    const d = await this.deps.authz.authorize(a);
    if (!d.allowed) throw forbiddenError(a, d.reason);
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    user: RequestUser,
  ): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (!info.resourceRequest) {
      if (method !== 'GET' && method !== 'HEAD') throw notServed();
      if (await this.deps.health.serve(path, url.searchParams, res)) return;
      if (path === '/version' || path === '/version/') return writeObject(res, 200, KUBE_VERSION);
      if (path.startsWith('/openapi/')) return this.openapi(req, res, url);
      return this.discovery(req, res, path);
    }
    return this.resource(req, res, url, info, user);
  }

  private async openapi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const out = await this.deps.openapi.handle({
      path: url.pathname,
      query: url.searchParams,
      ...(req.headers.accept ? { accept: req.headers.accept } : {}),
      ...(req.headers['if-none-match'] ? { ifNoneMatch: req.headers['if-none-match'] } : {}),
    });
    if (!out) throw notServed();
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  }

  private async discovery(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const d = this.deps.discovery;
    const p = path.replace(/\/+$/, '') || '/';
    const parts = p.split('/').filter(Boolean);
    if (p === '/api' || p === '/apis') {
      const n = negotiate(req.headers.accept, { views: ['APIGroupDiscoveryList'] });
      if (n.view.as === 'APIGroupDiscoveryList')
        return writeObject(res, 200, d.aggregated(p === '/api', n.view.version as 'v2' | 'v2beta1'), {
          contentType: contentTypeOf(n),
        });
      return writeObject(res, 200, p === '/api' ? d.api() : d.apis(), { format: n.format });
    }
    let body: unknown;
    if (parts[0] === 'api' && parts.length === 2) body = d.resourceList('', parts[1]);
    else if (parts[0] === 'apis' && parts.length === 2) body = d.group(parts[1]);
    else if (parts[0] === 'apis' && parts.length === 3) body = d.resourceList(parts[1], parts[2]);
    if (body === undefined) {
      res.writeHead(404, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end('404 page not found\n');
      return;
    }
    const n = negotiate(req.headers.accept, { views: [] });
    return writeObject(res, 200, body, { format: n.format });
  }

  private async resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    user: RequestUser,
  ): Promise<void> {
    const { catalog, registry } = this.deps;
    const t = catalog.get(info.apiGroup, info.apiVersion, info.resource);
    if (!t) throw notServed();
    const store = registry.of(t);
    // The namespaces resource is addressed by name; its "namespace" in the URL is that name.
    const namespace = t.namespaced ? info.namespace || undefined : undefined;
    if (t.namespaced && !namespace && !['list', 'watch'].includes(info.verb)) throw notServed();
    if (!t.namespaced && info.namespace && !(t.group === '' && t.plural === 'namespaces')) throw notServed();
    const r: ResourceRequest = {
      req,
      res,
      url,
      info,
      user,
      type: t,
      store,
      namespace,
      warnings: [],
      env: { registry, catalog, log: this.deps.log },
    };
    if (t.virtual) return this.virtual(r);
    try {
      return await dispatch(r, this.deps.connectors);
    } catch (e) {
      // Warnings gathered before the failure (an admission webhook's) go out with the error, as kube-apiserver's.
      if (r.warnings.length && !res.headersSent) res.setHeader('Warning', warningHeader(r.warnings));
      throw e;
    }
  }

  private async virtual(r: ResourceRequest): Promise<void> {
    // Resources another component serves in-process (metrics.k8s.io from the kubelet): `group/version/plural`.
    const served = this.deps.connectors.get(`${r.type.group}/${r.type.version}/${r.type.plural}`);
    if (served) return served(r, r.req, r.res);
    const key = `${r.type.group}/${r.type.plural}`;
    if (REVIEWS.has(key)) {
      if (r.info.verb !== 'create') throw methodNotAllowed(r);
      const body = await decodeRequest(r, 'CreateOptions');
      const out = await review(
        key,
        body,
        r.user,
        r.namespace ?? '',
        this.deps.authz,
        this.deps.tokenReviewer,
      );
      return writeObject(r.res, 201, out);
    }
    if (key === '/componentstatuses') {
      const items = componentStatuses();
      if (r.info.verb === 'get') {
        const cs = items.find((c) => c.metadata?.name === r.info.name);
        if (!cs)
          throw new KubeError('NotFound', `componentstatuses "${r.info.name}" not found`, {
            kind: 'componentstatuses',
            name: r.info.name,
          });
        return getObject(r, cs);
      }
      return listObjects({
        ...r,
        store: {
          ...r.store,
          list: async () => ({
            apiVersion: 'v1',
            kind: 'ComponentStatusList',
            metadata: { resourceVersion: '' },
            items,
          }),
        } as unknown as ResourceRequest['store'],
      });
    }
    if (key === '/bindings' && r.info.verb === 'create')
      return legacyBinding(r, this.deps.registry.of(this.deps.catalog.get('', 'v1', 'pods')!));
    throw notServed();
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve({ host, port: typeof a === 'object' && a ? a.port : port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const s of this.upgraded) s.destroy();
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** Network endpoints: /networks, /networks/{id}, create, connect, disconnect, prune. */
import type {
  NetworkConnectRequest,
  NetworkCreateRequest,
  NetworkDisconnectRequest,
  NetworkPruneResponse,
} from '@berth/common';
import type { Networking } from '../../network/index.js';
import { LIST_FILTERS, PRUNE_FILTERS } from '../../network/networks.js';
import { badParameter } from '../errors.js';
import { checkFilters, parseFilters, readJsonBody, sendJson } from '../http.js';
import type { Router } from '../router.js';

function requireObject<T>(v: T, what: string): T {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badParameter(`${what}: the request body must be a JSON object`);
  return v;
}

export function registerNetworkRoutes(r: Router, net: Networking): void {
  r.get('/networks', (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, LIST_FILTERS);
    sendJson(ctx.res, 200, net.networks.list(f));
  });

  r.post('/networks/create', async (ctx) => {
    const body = requireObject(
      await readJsonBody<NetworkCreateRequest>(ctx.req, null as unknown as NetworkCreateRequest),
      'network create',
    );
    sendJson(ctx.res, 201, await net.networks.create(body));
  });

  r.post('/networks/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilters(f, PRUNE_FILTERS);
    const deleted = await net.networks.prune(f);
    const body: NetworkPruneResponse = { NetworksDeleted: deleted };
    sendJson(ctx.res, 200, body);
  });

  r.get('/networks/{id}', (ctx) => {
    const scope = ctx.query.get('scope');
    if (scope && scope !== 'local')
      throw badParameter(`network ${ctx.params.id} not found in scope ${scope}`);
    sendJson(ctx.res, 200, net.networks.inspect(ctx.params.id));
  });

  r.delete('/networks/{id}', async (ctx) => {
    await net.networks.remove(ctx.params.id);
    ctx.res.writeHead(204);
    ctx.res.end();
  });

  r.post('/networks/{id}/connect', async (ctx) => {
    const body = requireObject(
      await readJsonBody<NetworkConnectRequest>(ctx.req, null as unknown as NetworkConnectRequest),
      'network connect',
    );
    if (typeof body.Container !== 'string' || !body.Container) throw badParameter('Container is required');
    await net.sandboxes.connect(ctx.params.id, body.Container, body.EndpointConfig ?? undefined);
    ctx.res.writeHead(200, { 'Content-Length': '0' });
    ctx.res.end();
  });

  r.post('/networks/{id}/disconnect', async (ctx) => {
    const body = requireObject(
      await readJsonBody<NetworkDisconnectRequest>(ctx.req, null as unknown as NetworkDisconnectRequest),
      'network disconnect',
    );
    if (typeof body.Container !== 'string' || !body.Container) throw badParameter('Container is required');
    await net.sandboxes.disconnect(ctx.params.id, body.Container, Boolean(body.Force));
    ctx.res.writeHead(200, { 'Content-Length': '0' });
    ctx.res.end();
  });
}

/**
 * The swarm endpoints, answered as dockerd answers on a node that is not in a swarm: 503 for the
 * manager-only routes and /swarm/leave, with dockerd's messages, because clients' teardown code tolerates
 * 503/406 (not 404). Berth does not run swarm: /swarm/init and /swarm/join say so, also with 503.
 */
import { unavailable } from '../errors.js';
import type { Router } from '../router.js';

/** dockerd's cluster.go wording for a node that never joined a swarm. */
export const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';
export const NO_SWARM_IN_BERTH =
  'Berth does not run swarm mode: this node cannot initialize or join a swarm (use docker compose, or the Kubernetes cluster)';

export function registerSwarmRoutes(r: Router): void {
  const notManager = () => {
    throw unavailable(NOT_A_MANAGER);
  };
  const noSwarm = () => {
    throw unavailable(NO_SWARM_IN_BERTH);
  };
  r.post('/swarm/init', noSwarm).post('/swarm/join', noSwarm);
  r.post('/swarm/leave', () => {
    throw unavailable(NOT_IN_A_SWARM);
  });
  r.get('/swarm', notManager).get('/swarm/unlockkey', notManager);
  r.post('/swarm/update', notManager).post('/swarm/unlock', notManager);
  for (const kind of ['services', 'nodes', 'tasks', 'secrets', 'configs']) {
    r.get(`/${kind}`, notManager).get(`/${kind}/{id}`, notManager);
    if (kind !== 'tasks') r.post(`/${kind}/{id}/update`, notManager);
    if (kind !== 'tasks' && kind !== 'nodes') r.post(`/${kind}/create`, notManager);
    if (kind !== 'tasks') r.delete(`/${kind}/{id}`, notManager);
  }
  r.get('/services/{id}/logs', notManager).get('/tasks/{id}/logs', notManager);
}

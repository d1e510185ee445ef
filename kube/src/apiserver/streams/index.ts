/**
 * The streaming subresources, registered on a running API server by whoever runs the node's pods (the kubelet):
 * pods/exec, pods/attach, pods/portforward over WebSocket and SPDY, and the HTTP proxies pods/proxy and
 * services/proxy.
 */
import type { Connector } from '../handlers/dispatch.js';
import type { Logger } from '../../log.js';
import { remoteCommandConnector } from './exec.js';
import { portForwardConnector } from './portforward.js';
import { podProxyConnector, serviceProxyConnector } from './proxy.js';
import type { StreamBackend } from './types.js';

export type { StreamBackend } from './types.js';

export const STREAM_CONNECTORS = [
  'pods/exec',
  'pods/attach',
  'pods/portforward',
  'pods/proxy',
  'services/proxy',
];

export function registerStreams(
  connectors: Map<string, Connector>,
  backend: StreamBackend,
  log: Logger,
): void {
  connectors.set('pods/exec', remoteCommandConnector('exec', backend, log));
  connectors.set('pods/attach', remoteCommandConnector('attach', backend, log));
  connectors.set('pods/portforward', portForwardConnector(backend, log));
  connectors.set('pods/proxy', podProxyConnector());
  connectors.set('services/proxy', serviceProxyConnector());
}

export function unregisterStreams(connectors: Map<string, Connector>): void {
  for (const k of STREAM_CONNECTORS) connectors.delete(k);
}

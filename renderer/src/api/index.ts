/** Picks the transport: Electron's preload bridge when present, else web mode on this page's origin. */
import type { BerthBridge } from '@berth/common';
import { EngineClient } from './engine-client.js';
import { HttpTransport } from './http-transport.js';
import { IpcTransport } from './ipc-transport.js';
import { ClusterClient } from './cluster-client.js';
import { HttpClusterTransport, IpcClusterTransport } from './cluster-transport.js';

export function bridge(): BerthBridge | undefined {
  return (globalThis as { berth?: BerthBridge }).berth;
}

let client: EngineClient | undefined;

export function engine(): EngineClient {
  if (!client) {
    const b = bridge();
    client = new EngineClient(b ? new IpcTransport(b) : new HttpTransport());
  }
  return client;
}

/** Tests and benchmarks inject their own client. */
export function setEngine(c: EngineClient): void {
  client = c;
}

let cluster: ClusterClient | undefined;

/** The Kubernetes side: the same transport choice (the host holds the kubeconfig and its credentials). */
export function clusterClient(): ClusterClient {
  if (!cluster) {
    const b = bridge();
    cluster = new ClusterClient(b ? new IpcClusterTransport(b) : new HttpClusterTransport());
  }
  return cluster;
}

export function setClusterClient(c: ClusterClient): void {
  cluster = c;
}

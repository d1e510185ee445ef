/** An in-process API server over a MemoryStore on 127.0.0.1:0, and HTTPS requests to it with or without certs. */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { CONTROLLER_MANAGER, startApiServer, type RunningApiServer } from '../../src/apiserver/index.js';
import type { Client } from '../../src/client/index.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { createLogger, setLogLevel } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory.js';

/** The controllers startTestServer runs beside the server. */
export const SERVER_CONTROLLERS = ['garbagecollector', 'namespace', 'endpointslice', 'resourcequota'];

export interface TestServer extends Omit<RunningApiServer, 'client'> {
  dir: string;
  kubeconfig: string;
  /** An admin client (system:masters). */
  client: Client;
  request(method: string, urlPath: string, opts?: RequestOpts): Promise<Reply>;
  stop(): Promise<void>;
}

export interface RequestOpts {
  body?: string | Buffer | object;
  headers?: Record<string, string>;
  /** 'admin' (default), 'none' (anonymous), or a client certificate pair. */
  as?: 'admin' | 'none' | { certPem: string; keyPem: string };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function startTestServer(store = new MemoryStore()): Promise<TestServer> {
  setLogLevel('error');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-test-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const s = await startApiServer({
    dataDir: path.join(dir, 'data'),
    kubeconfig,
    listen: '127.0.0.1:0',
    store,
    log: createLogger(),
    // No ServiceAccounts controller runs here to make the `default` account pods would need.
    serviceAccountAdmission: false,
  });
  const client = s.client({
    user: { name: 'test', groups: ['system:masters', 'system:authenticated'] },
    fieldManager: 'test',
  });
  // The loops every object's life depends on (owners, namespaces, endpoints, quota status), as in berth-kube;
  // the workload controllers run only where a test asks (helpers/cluster.ts).
  const loops = new ControllerManager({
    client: s.client(CONTROLLER_MANAGER),
    log: createLogger().child({ component: 'controller-manager' }),
    quotaStorage: { registry: s.registry, hub: s.hub, store: s.store },
    controllers: SERVER_CONTROLLERS,
  });
  await loops.start();
  const request = (method: string, urlPath: string, o: RequestOpts = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const creds =
        o.as === 'none'
          ? {}
          : o.as && o.as !== 'admin'
            ? { cert: o.as.certPem, key: o.as.keyPem }
            : { cert: s.pki.admin.certPem, key: s.pki.admin.keyPem };
      const body =
        o.body === undefined
          ? undefined
          : typeof o.body === 'string' || Buffer.isBuffer(o.body)
            ? o.body
            : JSON.stringify(o.body);
      const req = https.request(
        {
          host: '127.0.0.1',
          port: s.port,
          method,
          path: urlPath,
          ca: s.pki.caPem,
          ...creds,
          // Content-Length always: Node sends a DELETE body without one, which the server cannot frame.
          headers: {
            ...(body !== undefined
              ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
              : {}),
            ...o.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: <T>() => JSON.parse(text) as T,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    ...s,
    dir,
    kubeconfig,
    client,
    request,
    stop: async () => {
      loops.stop();
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `cond` until it holds. */
export async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

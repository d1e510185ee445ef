/**
 * berth-kube's API server assembled: data dir lock, PKI, store, catalog of served resources, watch hub,
 * admission, registry, HTTPS server, kubeconfig, bootstrap objects. `startApiServer` resolves once /readyz
 * would answer ok; `close()` stops everything in reverse order.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Admission } from '../admission/chain.js';
import { NamespaceLifecycle } from '../admission/plugins/namespace-lifecycle.js';
import { LimitRanger } from '../admission/plugins/limit-ranger.js';
import { ResourceQuotaAdmission } from '../admission/plugins/resource-quota.js';
import { PriorityAdmission } from '../admission/plugins/priority.js';
import { ServiceAccountAdmission } from '../admission/plugins/service-account.js';
import {
  DefaultStorageClass,
  PersistentVolumeClaimResize,
  StorageObjectInUseProtection,
} from '../admission/plugins/storage.js';
import { DefaultIngressClass } from '../admission/plugins/default-ingress-class.js';
import { MutatingWebhooks, ValidatingWebhooks } from '../admission/webhooks/dispatch.js';
import { WebhookSource } from '../admission/webhooks/source.js';
import { ValidatingAdmissionPolicyPlugin } from '../admission/policy/plugin.js';
import { PolicySource } from '../admission/policy/source.js';
import { DefaultTolerationSeconds } from '../admission/plugins/default-toleration-seconds.js';
import type { Logger } from '../log.js';
import { ResourceCatalog } from '../registry/catalog.js';
import { builtinResources } from '../registry/builtin/resources.js';
import { PROTECTED_NAMESPACES } from '../registry/core/namespaces.js';
import { Registry } from '../registry/generic/registry.js';
import { Client, type ClientIdentity } from '../client/index.js';
import { WatchHub } from '../registry/generic/watch-hub.js';
import { crdStoreOver } from '../schema/crd/client-store.js';
import { CrdController } from '../schema/crd/controller.js';
import { OpenApiService } from '../schema/openapi/service.js';
import type { Store } from '../store/types.js';
import { acquireLock } from '../util/files.js';
import { isKubeError } from '../errors.js';
import { AuthenticatorChain, X509Authenticator } from './auth/authenticator.js';
import { JwtSigner } from './auth/jwt.js';
import { RbacAuthorizer } from './auth/rbac/authorizer.js';
import { RbacEscalation } from './auth/rbac/escalation.js';
import {
  ServiceAccountAuthenticator,
  ServiceAccountTokens,
  type ObjectGetter,
} from './auth/serviceaccount.js';
import {
  AuthorizerChain,
  DiscoveryAuthorizer,
  MastersAuthorizer,
  PublicInfoAuthorizer,
} from './auth/authorizer.js';
import { NodeAuthorizer } from './auth/node-authorizer.js';
import { CrdApiServices } from './apiservices.js';
import { bootstrap } from './bootstrap.js';
import { openDatastore } from './datastore.js';
import { Discovery } from './discovery.js';
import type { Connector } from './handlers/dispatch.js';
import { Health } from './health.js';
import { tokenRequestHandler } from './handlers/token.js';
import { ensurePki, type Pki } from './pki/index.js';
import { writeKubeconfig } from './pki/kubeconfig.js';
import { ApiServer } from './server.js';

export interface ApiServerOptions {
  dataDir: string;
  kubeconfig: string;
  /** host:port; port 0 picks a free one. */
  listen: string;
  datastoreEndpoint?: string;
  log: Logger;
  /** An already open store (tests); otherwise --datastore-endpoint decides. */
  store?: Store;
  /**
   * The ServiceAccount admission plugin (default on, as kube-apiserver). Unit tests that write pods without the
   * ServiceAccounts controller running turn it off.
   */
  serviceAccountAdmission?: boolean;
}

export interface RunningApiServer {
  url: string;
  port: number;
  registry: Registry;
  catalog: ResourceCatalog;
  admission: Admission;
  authn: AuthenticatorChain;
  authz: AuthorizerChain;
  hub: WatchHub;
  store: Store;
  pki: Pki;
  /** Service-account tokens: `tokens.request(ns, sa, tokenRequest)` for the kubelet's projected volumes. */
  tokens: ServiceAccountTokens;
  connectors: Map<string, Connector>;
  /** An in-process client acting as `identity` (controllers, scheduler, kubelet). */
  client(identity: ClientIdentity): Client;
  close(): Promise<void>;
}

/** The controllers' identity until RBAC has their roles: kube-controller-manager's name, the masters group. */
export const CONTROLLER_MANAGER: ClientIdentity = {
  user: { name: 'system:kube-controller-manager', groups: ['system:masters', 'system:authenticated'] },
  fieldManager: 'kube-controller-manager',
};

/** Drops RBAC's snapshot whenever a role or binding changes (resubscribing after the hub ends a watch). */
async function followRbac(hub: WatchHub, store: Store, rbac: RbacAuthorizer): Promise<() => void> {
  let stopped = false;
  const handles: Array<{ stop(): void }> = [];
  const subscribe = async () => {
    const rev = await store.revision();
    for (const p of ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'])
      handles.push(
        await hub.subscribe(`/registry/${p}/`, rev, {
          onEvent: () => rbac.invalidate(),
          onError: () => {
            rbac.invalidate();
            if (stopped) return;
            for (const h of handles.splice(0)) h.stop();
            setTimeout(() => void subscribe().catch(() => undefined), 200).unref();
          },
        }),
      );
  };
  await subscribe();
  return () => {
    stopped = true;
    for (const h of handles.splice(0)) h.stop();
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i < 0) throw new Error(`--listen wants host:port, got ${listen}`);
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen: bad port in ${listen}`);
  return { host, port };
}

export async function startApiServer(o: ApiServerOptions): Promise<RunningApiServer> {
  const log = o.log;
  await fsp.mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(o.dataDir);
  const cleanups: Array<() => Promise<void> | void> = [release];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const { host, port } = parseListen(o.listen);
    const pki = await ensurePki(
      o.dataDir,
      host === '0.0.0.0' || host === '::' ? [] : [host].filter((h) => /^[\d.]+$/.test(h)),
    );
    const store =
      o.store ??
      (await openDatastore({
        ...(o.datastoreEndpoint ? { endpoint: o.datastoreEndpoint } : {}),
        dataDir: path.join(o.dataDir, 'db'),
        log,
      }));
    if (!o.store) cleanups.push(() => store.close());
    const catalog = new ResourceCatalog();
    for (const t of builtinResources()) catalog.add(t);
    const hub = new WatchHub(store, log.child({ component: 'watch' }));
    await hub.start();
    cleanups.push(() => hub.stop());
    const admission = new Admission();
    const registry = new Registry({ store, catalog, admission, hub, log });
    admission.use(
      new NamespaceLifecycle({ get: (n) => registry.namespace(n) }, new Set(PROTECTED_NAMESPACES)),
    );
    admission.use(new LimitRanger((ns) => registry.list('v1', 'limitranges', ns)));
    if (o.serviceAccountAdmission !== false)
      admission.use(
        new ServiceAccountAdmission(async (ns, name) => {
          try {
            return await registry.resource('v1', 'serviceaccounts')?.get(ns, name);
          } catch (e) {
            if (isKubeError(e, 'NotFound')) return undefined;
            throw e;
          }
        }),
      );
    admission.use(new DefaultStorageClass(() => registry.list('storage.k8s.io/v1', 'storageclasses')));
    admission.use(new StorageObjectInUseProtection());
    admission.use(
      new PersistentVolumeClaimResize(() => registry.list('storage.k8s.io/v1', 'storageclasses')),
    );
    admission.use(
      new PriorityAdmission({ list: () => registry.list('scheduling.k8s.io/v1', 'priorityclasses') }),
    );
    admission.use(new DefaultIngressClass(() => registry.list('networking.k8s.io/v1', 'ingressclasses')));
    admission.use(new DefaultTolerationSeconds());
    // kube-apiserver's order: the webhooks after the built-in plugins, ResourceQuota last.
    const webhooks = new WebhookSource(registry, hub, store, log.child({ component: 'admission-webhook' }));
    await webhooks.start();
    cleanups.push(() => webhooks.stop());
    admission.use(new MutatingWebhooks(webhooks));
    const policies = new PolicySource(registry, hub, store);
    await policies.start();
    cleanups.push(() => policies.stop());
    admission.use(new ValidatingAdmissionPolicyPlugin(policies));
    admission.use(new ValidatingWebhooks(webhooks));
    admission.use(new ResourceQuotaAdmission((v, p, ns) => registry.list(v, p, ns)));
    const health = new Health();
    health.addLive({ name: 'etcd', run: async () => void (await store.revision()) });
    let ready = false;
    health.addReady({
      name: 'poststarthook/bootstrap-controller',
      run: () => {
        if (!ready) throw new Error('not ready');
      },
    });
    const rbac = new RbacAuthorizer((plural) => registry.list('rbac.authorization.k8s.io/v1', plural));
    const getObject: ObjectGetter = async (plural, ns, name) => {
      try {
        return await registry.resource('v1', plural)?.get(ns, name);
      } catch (e) {
        if (isKubeError(e, 'NotFound')) return undefined;
        throw e;
      }
    };
    const tokens = new ServiceAccountTokens(new JwtSigner(pki.serviceAccountKeyPem), getObject);
    const authn = new AuthenticatorChain([new X509Authenticator(), new ServiceAccountAuthenticator(tokens)]);
    const authz = new AuthorizerChain([
      new PublicInfoAuthorizer(),
      new DiscoveryAuthorizer(),
      new MastersAuthorizer(),
      new NodeAuthorizer(),
      rbac,
    ]);
    admission.use(new RbacEscalation(authz, rbac));
    cleanups.push(await followRbac(hub, store, rbac));
    const connectors = new Map<string, Connector>([['serviceaccounts/token', tokenRequestHandler(tokens)]]);
    let address = `${host}:${port}`;
    const discovery = new Discovery(catalog, () => address);
    const openapi = new OpenApiService(catalog);
    const server = new ApiServer(
      {
        registry,
        catalog,
        discovery,
        openapi,
        health,
        authn,
        authz,
        log: log.child({ component: 'apiserver' }),
        connectors,
        tokenReviewer: (token, audiences) => tokens.authenticateFor(token, audiences),
      },
      { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.caPem },
    );
    const bound = await server.listen(host, port);
    cleanups.push(() => server.close());
    address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
    const urlHost =
      host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    const url = `https://${urlHost}:${bound.port}`;
    await writeKubeconfig(o.kubeconfig, {
      server: url,
      caPem: pki.caPem,
      certPem: pki.admin.certPem,
      keyPem: pki.admin.keyPem,
    });
    await bootstrap(registry, bound.port);
    // CustomResourceDefinitions: serve the stored ones before /readyz says ok, then follow changes.
    const crds = new CrdController({
      store: crdStoreOver(
        new Client(registry, {
          user: { name: 'system:apiserver', groups: ['system:masters'] },
          fieldManager: 'kube-apiserver',
        }),
      ),
      served: catalog,
      log: log.child({ component: 'crd' }),
    });
    await crds.start();
    cleanups.push(() => crds.stop());
    // One APIService per group-version only CRDs serve, following the catalog (kube-aggregator's autoregister).
    const apiServices = new CrdApiServices(registry, log.child({ component: 'apiservices' }));
    await apiServices.start();
    cleanups.push(() => apiServices.stop());
    ready = true;
    log.info('API server ready', { url, datastore: store.backend, kubeconfig: o.kubeconfig });
    const client = (identity: ClientIdentity) => new Client(registry, identity, authz);
    // The control loops (garbage collector, namespaces, endpoints, quotas...) are the controller manager's
    // (control-loops.ts), started beside this server once it is ready.
    return {
      client,
      url,
      port: bound.port,
      registry,
      catalog,
      admission,
      authn,
      authz,
      hub,
      store,
      pki,
      tokens,
      connectors,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * berth-kube's built-in Ingress controller (`berth.dev/ingress`): the default IngressClass `berth` made at start if
 * absent, the Ingresses of its classes (and those without a class while one of its classes is the default) served
 * on the host by server.ts, all from informers over Ingresses, IngressClasses, Services, EndpointSlices and
 * Secrets. Each served Ingress gets `status.loadBalancer.ingress: [{ip}]` with the ports actually bound, and the
 * ConfigMap kube-system/berth-ingress says where the listeners are (and why, when a port fell back), for
 * `berth kube status` and the dashboard.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import { Informer, type InformerHandlers } from '../kubelet/informer.js';
import type { Logger } from '../log.js';
import type { KubeObject } from '../registry/types.js';
import { Backends } from './backends.js';
import { Certificates } from './certs.js';
import { RouteTable, type IngressShape } from './routes.js';
import { IngressServer, type ListenAddress } from './server.js';

export const INGRESS_CONTROLLER = 'berth.dev/ingress';
export const DEFAULT_CLASS = 'berth';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** The deprecated class annotation, still honoured by controllers (and by kube-apiserver's validation). */
export const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const STATUS_CONFIGMAP = { namespace: 'kube-system', name: 'berth-ingress' };

export interface IngressControllerOptions {
  client: Client;
  /** Undefined: that listener is off. */
  http?: ListenAddress;
  https?: ListenAddress;
  log: Logger;
}

type Ingress = KubeObject & IngressShape & { status?: { loadBalancer?: { ingress?: unknown[] } } };

export class IngressController {
  readonly backends = new Backends();
  readonly certs: Certificates;
  readonly server: IngressServer;
  private table = new RouteTable([]);
  private readonly ingresses: Informer<Ingress>;
  private readonly classes: Informer<KubeObject>;
  private readonly informers: Array<Informer<KubeObject>> = [];
  private scheduled = false;
  private stopped = false;
  private statusRetry?: NodeJS.Timeout;

  constructor(private readonly o: IngressControllerOptions) {
    this.certs = new Certificates(o.log);
    this.server = new IngressServer({
      ...(o.http ? { http: o.http } : {}),
      ...(o.https ? { https: o.https } : {}),
      route: (host, path) => this.table.match(host, path),
      pick: (b) => this.backends.pick(b),
      secureContext: (name) => this.certs.contextFor(this.table.tlsFor(name)),
      defaultCert: this.certs.defaultCert,
      log: o.log,
    });
    const changed: InformerHandlers<KubeObject> = {
      add: () => this.changed(),
      update: () => this.changed(),
      delete: () => this.changed(),
    };
    const inf = <T extends KubeObject>(apiVersion: string, plural: string, h: InformerHandlers<T>) =>
      new Informer<T>(o.client.resource(apiVersion, plural), {}, h, o.log);
    this.ingresses = inf<Ingress>('networking.k8s.io/v1', 'ingresses', changed);
    this.classes = inf('networking.k8s.io/v1', 'ingressclasses', changed);
    const b = this.backends;
    const c = this.certs;
    this.informers.push(
      this.ingresses,
      this.classes,
      inf('v1', 'services', {
        add: (x) => b.setService(x),
        update: (x) => b.setService(x),
        delete: (x) => b.deleteService(x),
      }),
      inf('discovery.k8s.io/v1', 'endpointslices', {
        add: (x) => b.setSlice(x),
        update: (x) => b.setSlice(x),
        delete: (x) => b.deleteSlice(x),
      }),
      inf('v1', 'secrets', {
        add: (x) => c.setSecret(x),
        update: (x) => c.setSecret(x),
        delete: (x) => c.deleteSecret(x),
      }),
    );
  }

  async start(): Promise<void> {
    await this.ensureClass().catch((e: Error) =>
      this.o.log.error('default IngressClass not made', { error: e.message }),
    );
    await this.server.start();
    for (const i of this.informers) await i.start();
    const b = this.server.bound;
    this.o.log.info('ingress controller serving', {
      ...(b.http ? { http: `${b.http.host}:${b.http.port}` } : {}),
      ...(b.https ? { https: `${b.https.host}:${b.https.port}` } : {}),
    });
    await this.writeConfigMap().catch((e: Error) =>
      this.o.log.warn('ingress ConfigMap not written', { error: e.message }),
    );
    this.rebuild();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.statusRetry);
    for (const i of this.informers) i.stop();
    await this.server.close();
  }

  /** Whether this controller serves the Ingress: its class is one of ours, or it has none and ours is the default. */
  serves(ing: IngressShape & KubeObject): boolean {
    const spec = ing.spec as { ingressClassName?: string } | undefined;
    const name = spec?.ingressClassName ?? ing.metadata?.annotations?.[CLASS_ANNOTATION];
    const ours = (c: KubeObject) =>
      (c.spec as { controller?: string } | undefined)?.controller === INGRESS_CONTROLLER;
    if (name) {
      const cls = this.classes.byName('', name);
      return !!cls && ours(cls);
    }
    const defaults = this.classes
      .list()
      .filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
    return defaults.some(ours);
  }

  private changed(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.rebuild();
    });
  }

  private rebuild(): void {
    const all = this.ingresses.list().filter((i) => !i.metadata?.deletionTimestamp);
    const served = all.filter((i) => this.serves(i));
    this.table = new RouteTable(served);
    void this.syncStatus(served, all).catch((e: Error) => {
      this.o.log.warn('ingress status not written; retrying', { error: e.message });
      clearTimeout(this.statusRetry);
      this.statusRetry = setTimeout(() => this.changed(), 1000);
    });
  }

  /** What `status.loadBalancer.ingress` says for a served Ingress: the host address and the ports bound. */
  private loadBalancer(): Array<{ ip: string; ports: Array<{ port: number; protocol: string }> }> {
    const b = this.server.bound;
    const host = b.http?.host ?? b.https?.host ?? '127.0.0.1';
    const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== '0.0.0.0' ? host : '127.0.0.1';
    const ports = [b.http, b.https].filter((x) => !!x).map((x) => ({ port: x.port, protocol: 'TCP' }));
    return [{ ip, ports }];
  }

  /** Served Ingresses get our address; one we no longer serve (its class changed) loses it. */
  private async syncStatus(served: Ingress[], all: Ingress[]): Promise<void> {
    const want = JSON.stringify(this.loadBalancer());
    const rc = this.o.client.resource('networking.k8s.io/v1', 'ingresses');
    for (const ing of all) {
      const cur = JSON.stringify(ing.status?.loadBalancer?.ingress ?? []);
      const mine = served.includes(ing);
      if (mine ? cur === want : cur !== want) continue;
      const loadBalancer = mine ? { ingress: this.loadBalancer() } : {};
      try {
        await rc.updateStatus(
          { ...ing, status: { loadBalancer } },
          { namespace: ing.metadata?.namespace ?? '' },
        );
      } catch (e) {
        // A newer revision is on its way through the informer, and with it another pass.
        if (!isKubeError(e, 'Conflict') && !isKubeError(e, 'NotFound')) throw e;
      }
    }
  }

  private async ensureClass(): Promise<void> {
    const rc = this.o.client.resource('networking.k8s.io/v1', 'ingressclasses');
    try {
      await rc.get(DEFAULT_CLASS, {});
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
      await rc
        .create(
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'IngressClass',
            metadata: {
              name: DEFAULT_CLASS,
              annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' },
              labels: { 'app.kubernetes.io/managed-by': 'berth-kube' },
            },
            spec: { controller: INGRESS_CONTROLLER },
          },
          {},
        )
        .catch((err: unknown) => {
          if (!isKubeError(err, 'AlreadyExists')) throw err;
        });
    }
  }

  private async writeConfigMap(): Promise<void> {
    const b = this.server.bound;
    const data: Record<string, string> = { class: DEFAULT_CLASS, controller: INGRESS_CONTROLLER };
    if (b.http) data.http = `${b.http.host}:${b.http.port}`;
    if (b.https) data.https = `${b.https.host}:${b.https.port}`;
    const notes = [b.http?.note, b.https?.note].filter(Boolean);
    if (notes.length) data.notes = notes.join('\n');
    const rc = this.o.client.resource('v1', 'configmaps');
    const { namespace, name } = STATUS_CONFIGMAP;
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
    try {
      const cur = await rc.get(name, { namespace });
      await rc.update(
        { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } },
        { namespace },
      );
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
      await rc.create(obj, { namespace });
    }
  }
}

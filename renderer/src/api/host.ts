/**
 * What runs the engine, as the dashboard sees it: settings and start/stop/restart. The app answers over IPC;
 * `berth serve` answers over `/host/*` when it serves Berth's own engine. Absent when the engine is one
 * Berth does not manage (then the dashboard shows its settings read-only).
 */
import type {
  AppSettings,
  BerthBridge,
  BerthKubeStatus,
  EngineStatus,
  KubeAction,
  KubeActionKind,
  KubeEnableOptions,
} from '@berth/common';
import { bridge } from './index.js';
import { invoke } from './ipc-transport.js';

export type SettingsPatch = Partial<Omit<AppSettings, 'version'>>;

export interface HostControl {
  settings(): Promise<AppSettings>;
  updateSettings(patch: SettingsPatch): Promise<AppSettings>;
  resetSettings(): Promise<void>;
  status(): Promise<EngineStatus>;
  start(): Promise<EngineStatus>;
  stop(): Promise<EngineStatus>;
  restart(): Promise<EngineStatus>;
  logs(): Promise<string>;
  /** Berth's own cluster (Settings → Kubernetes). */
  kubeStatus(): Promise<BerthKubeStatus>;
  /** The running action, else the last one. */
  kubeAction(): Promise<KubeAction | null>;
  /** Starts an action and answers at once; follow it with kubeAction(). */
  startKube(kind: KubeActionKind, options?: KubeEnableOptions): Promise<KubeAction>;
}

class IpcHost implements HostControl {
  constructor(private readonly b: BerthBridge) {}
  settings() {
    return invoke(this.b, 'settings:get');
  }
  updateSettings(patch: SettingsPatch) {
    return invoke(this.b, 'settings:update', patch);
  }
  resetSettings() {
    return invoke(this.b, 'app:factory-reset');
  }
  status() {
    return invoke(this.b, 'engine:status');
  }
  start() {
    return invoke(this.b, 'engine:start');
  }
  stop() {
    return invoke(this.b, 'engine:stop');
  }
  restart() {
    return invoke(this.b, 'engine:restart');
  }
  logs() {
    return invoke(this.b, 'engine:logs');
  }
  kubeStatus() {
    return invoke(this.b, 'kube:status');
  }
  kubeAction() {
    return invoke(this.b, 'kube:action');
  }
  startKube(kind: KubeActionKind, options?: KubeEnableOptions) {
    return options === undefined
      ? invoke(this.b, 'kube:start', kind)
      : invoke(this.b, 'kube:start', kind, options);
  }
}

/** `berth serve`'s `/host/*`: errors arrive as `{message}` with a status, like the engine's own. */
export class HttpHost implements HostControl {
  constructor(
    private readonly base = '',
    private readonly fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, text = false): Promise<T> {
    const r = await this.fetchFn(`${this.base}/host/${path}`, {
      method,
      credentials: 'same-origin',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    if (!r.ok) {
      let message = `${method} /host/${path}: ${r.status}`;
      try {
        message = ((await r.json()) as { message?: string }).message ?? message;
      } catch {
        /* not JSON */
      }
      throw new Error(message);
    }
    return (text ? await r.text() : await r.json()) as T;
  }
  settings() {
    return this.call<AppSettings>('GET', 'settings');
  }
  updateSettings(patch: SettingsPatch) {
    return this.call<AppSettings>('PATCH', 'settings', patch);
  }
  async resetSettings() {
    await this.call<AppSettings>('POST', 'settings/reset');
  }
  status() {
    return this.call<EngineStatus>('GET', 'engine');
  }
  start() {
    return this.call<EngineStatus>('POST', 'engine/start');
  }
  stop() {
    return this.call<EngineStatus>('POST', 'engine/stop');
  }
  restart() {
    return this.call<EngineStatus>('POST', 'engine/restart');
  }
  logs() {
    return this.call<string>('GET', 'engine/logs', undefined, true);
  }
  kubeStatus() {
    return this.call<BerthKubeStatus>('GET', 'kube');
  }
  kubeAction() {
    return this.call<KubeAction | null>('GET', 'kube/action');
  }
  startKube(kind: KubeActionKind, options?: KubeEnableOptions) {
    return this.call<KubeAction>('POST', `kube/${kind}`, options);
  }
}

let found: Promise<HostControl | undefined> | undefined;

/** The host control, if there is one (asked once: web mode probes `/host/engine`). */
export function hostControl(): Promise<HostControl | undefined> {
  if (!found) {
    const b = bridge();
    if (b) found = Promise.resolve(new IpcHost(b));
    else {
      const web = new HttpHost();
      found = web.status().then(
        () => web,
        () => {
          found = undefined; // asked again next time (berth serve may have been restarted)
          return undefined;
        },
      );
    }
  }
  return found;
}

/**
 * The one typed channel map between Electron main and the renderer (via preload's `window.berth`).
 * Main's `handle<K>` and the preload's `invoke<K>` derive from these maps, so "find references" finds
 * every caller. Every invoke answers `IpcResult<T>`: errors cross as `{error:{name,code,message}}`.
 */
import type {
  ClusterContexts,
  ClusterRequest,
  ClusterStreamRequest,
  PortForwardInfo,
  PortForwardRequest,
} from './cluster.js';
import type { IpcResult } from './errors.js';
import type { KubeAction, KubeActionKind } from './kube-action.js';
import type { BerthKubeStatus, KubeEnableOptions } from './kube.js';

/** One Engine API request, as the renderer would send it over HTTP (`path` includes `/v1.44` and query). */
export interface EngineRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export interface EngineResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A long-lived request: logs follow, events, stats, pull/build progress, or a hijacked attach/exec. */
export interface StreamRequest extends EngineRequest {
  /** Ask the engine to upgrade the connection (`Upgrade: tcp`) and carry stdin both ways. */
  hijack?: boolean;
  /**
   * The body follows the request as this many bytes of the stream's writes (the web bridge's binary frames:
   * a JSON message cannot carry a build context or an archive); later writes are stdin of a hijack.
   */
  bodyLength?: number;
}

export type StreamEvent =
  | { id: number; kind: 'head'; status: number; headers: Record<string, string> }
  | { id: number; kind: 'data'; data: Uint8Array }
  | { id: number; kind: 'end'; error?: { name: string; code?: number | string; message: string } };

export type EngineState = 'stopped' | 'starting' | 'running' | 'stopping' | 'error';
import type { KubeSettings } from './kube.js';

export interface EngineStatus {
  state: EngineState;
  /** Where the engine listens (e.g. unix:///home/me/.berth/run/docker.sock). */
  host: string;
  message?: string;
}

/** User settings the renderer may read and change (the main process owns persistence and migrations). */
export interface AppSettings {
  version: number;
  theme: 'system' | 'light' | 'dark';
  vm: { cpus: number; memoryMiB: number; diskGiB: number };
  registryMirrors: string[];
  insecureRegistries: string[];
  startEngineOnLaunch: boolean;
  /** What quitting the app does with a running engine: ask, stop it, or leave it running. */
  onQuit: 'ask' | 'stop-engine' | 'keep-engine';
  /** Berth's cluster: whether it comes back with the engine, and how it was enabled. */
  kube: KubeSettings;
}

export interface IpcInvokeChannels {
  'engine:request': (req: EngineRequest) => EngineResponse;
  'engine:stream-open': (req: StreamRequest) => number;
  'engine:stream-write': (id: number, data: Uint8Array) => void;
  'engine:stream-close': (id: number) => void;
  'engine:status': () => EngineStatus;
  'engine:start': () => EngineStatus;
  'engine:stop': () => EngineStatus;
  'engine:restart': () => EngineStatus;
  'engine:logs': () => string;
  'settings:get': () => AppSettings;
  'settings:update': (patch: Partial<Omit<AppSettings, 'version'>>) => AppSettings;
  'app:factory-reset': () => void;
  'cluster:contexts': () => ClusterContexts;
  'cluster:request': (req: ClusterRequest) => EngineResponse;
  'cluster:stream-open': (req: ClusterStreamRequest) => number;
  /** One WebSocket message to the API server (exec stdin, resize). */
  'cluster:stream-write': (id: number, data: Uint8Array) => void;
  'cluster:stream-close': (id: number) => void;
  /** A listener on the host's 127.0.0.1 forwarding to a pod's port; they outlive the window's navigations. */
  'cluster:port-forward-start': (req: PortForwardRequest) => PortForwardInfo;
  'cluster:port-forwards': () => PortForwardInfo[];
  'cluster:port-forward-stop': (id: string) => boolean;
  /** Berth's own cluster (Settings → Kubernetes): status, the running or last action, and starting one. */
  'kube:status': () => BerthKubeStatus;
  'kube:action': () => KubeAction | null;
  'kube:start': (kind: KubeActionKind, options?: KubeEnableOptions) => KubeAction;
}

export interface IpcEventChannels {
  'engine:stream-event': StreamEvent;
  'engine:status-changed': EngineStatus;
  'cluster:stream-event': StreamEvent;
}

export type InvokeChannel = keyof IpcInvokeChannels;
export type InvokeArgs<K extends InvokeChannel> = Parameters<IpcInvokeChannels[K]>;
export type InvokeResult<K extends InvokeChannel> = ReturnType<IpcInvokeChannels[K]>;
export type EventChannel = keyof IpcEventChannels;

/** What preload exposes as `window.berth` (the renderer rebuilds errors with `decodeError`). */
export interface BerthBridge {
  readonly kind: 'electron';
  readonly platform: string;
  invoke<K extends InvokeChannel>(channel: K, ...args: InvokeArgs<K>): Promise<IpcResult<InvokeResult<K>>>;
  on<K extends EventChannel>(channel: K, listener: (payload: IpcEventChannels[K]) => void): () => void;
}

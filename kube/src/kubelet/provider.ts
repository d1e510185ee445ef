/**
 * The kubelet's engine side behind one provider interface (virtual-kubelet's PodLifecycleHandler is the model):
 * the pod workers hand it v1 Pods with their references resolved, and it makes berthd run them. Everything it
 * knows about running pods it reads back from the engine (labels), so a restarted berth-kube adopts its pods.
 */
import type { Duplex, Readable } from 'node:stream';
import type { PodInputs } from './inputs.js';
import type { ProbeResult } from './probes.js';
import type { ContainerStatus, Pod, Probe } from './types.js';

export interface KubeletEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** The container the event is about (involvedObject.fieldPath `spec.containers{name}`). */
  fieldPath?: string;
}

export type EventRecorder = (pod: Pod, e: KubeletEvent) => void;

export interface SyncResult {
  /** The pod will not run anything more (all containers finished under its restartPolicy, or an init failed). */
  terminal: boolean;
  /** Sync again after this many ms at the latest (a back-off expiring); undefined when only events matter. */
  retryAfterMs?: number;
}

/** The runtime's part of a PodStatus: what the engine shows, plus the kubelet's waiting reasons. */
export interface RuntimePodStatus {
  podIP: string;
  podIPs: string[];
  hostIP: string;
  sandboxReady: boolean;
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  /** kubectl debug's containers (started once, never restarted). */
  ephemeralContainerStatuses?: ContainerStatus[];
  qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort';
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** Earliest container start the engine knows (the pod's startTime when the caller has none). */
  startedAt?: string;
}

/** A pod found in the engine by its labels. */
export interface RuntimePod {
  uid: string;
  name: string;
  namespace: string;
  running: boolean;
  containerIds: string[];
}

export interface LogOptions {
  container: string;
  follow?: boolean;
  previous?: boolean;
  timestamps?: boolean;
  sinceSeconds?: number;
  /** RFC 3339. */
  sinceTime?: string;
  tailLines?: number;
  limitBytes?: number;
}

/** An exec or attach session: the API server's stream protocols (WebSocket v4/v5, SPDY) wrap this. */
export interface StreamSession {
  stdin: NodeJS.WritableStream | undefined;
  stdout: Readable;
  stderr: Readable | undefined;
  resize(width: number, height: number): Promise<void>;
  /** Resolves with the exit code when the process ends (attach: when the container stops or the stream closes). */
  exitCode: Promise<number>;
  close(): void;
}

export interface StreamOptions {
  container: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** The terminal's size when the process starts (exec with tty; the client's first resize event). */
  size?: { width: number; height: number };
}

export interface PodStats {
  timestamp: string;
  window: string;
  containers: Array<{ name: string; cpuNanoCores: number; memoryWorkingSetBytes: number }>;
}

export interface PodRuntime {
  /** Advances the pod toward its spec: sandbox, volumes, init containers in order, then the others. Idempotent. */
  syncPod(pod: Pod, inputs: PodInputs): Promise<SyncResult>;
  /** Stops the pod's containers (preStop hooks, the grace period, then SIGKILL) and its sandbox. */
  killPod(pod: Pod, gracePeriodSeconds?: number): Promise<void>;
  /**
   * Stops one running container (a failed liveness or startup probe), with a `Killing` event carrying `message`
   * (default `Stopping container <name>`); the next sync restarts it as its restartPolicy says.
   */
  killContainer(pod: Pod, container: string, gracePeriodSeconds?: number, message?: string): Promise<void>;
  /** Removes everything of the pod from the engine and the kubelet's directory. */
  removePod(uid: string): Promise<void>;
  podStatus(pod: Pod, probes?: ProbeStates): Promise<RuntimePodStatus>;
  /** Pods the engine runs (or keeps) under the kubelet's labels. */
  listPods(): Promise<RuntimePod[]>;
  /** Removes the pods whose uid is not in `keep`; returns the uids removed. */
  removeOrphans(keep: Set<string>): Promise<string[]>;
  /** Rewrites configMap/secret/downwardAPI/projected volumes of a running pod; returns those that changed. */
  refreshVolumes(pod: Pod, inputs: PodInputs): Promise<string[]>;
  probe(pod: Pod, container: string, probe: Probe): Promise<ProbeResult>;
  logs(pod: Pod, o: LogOptions, signal?: AbortSignal): Promise<Readable>;
  exec(pod: Pod, cmd: string[], o: StreamOptions): Promise<StreamSession>;
  attach(pod: Pod, o: StreamOptions): Promise<StreamSession>;
  portForward(pod: Pod, port: number): Promise<Duplex>;
  stats(pod: Pod): Promise<PodStats>;
}

/** Readiness and startup as the probe loops see them, per container name and the engine id of its instance. */
export type ProbeStates = (
  container: string,
  containerId?: string,
) => { ready: boolean; started: boolean } | undefined;

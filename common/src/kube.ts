/**
 * The seam of Berth's own cluster (berth-kube beside the engine) between the host side (electron/src/kube,
 * one function per action that the CLI, the app's IPC and `berth serve`'s /host/* all call) and whoever shows
 * it (`berth kube status`, the tray, Settings → Kubernetes, Troubleshoot).
 */

/** What the user chose; remembered in settings (`kube`), so `berth start` brings the cluster back. */
export interface KubeSettings {
  enabled: boolean;
  /** The API server's port on the host's 127.0.0.1; 0: 6443, or another free port when that is taken. */
  port: number;
  /** The pod network's subnet; '' for berth-kube's default (10.42.0.0/16). */
  podCIDR: string;
}

/** Something wrong, in words a user can act on; `check` says which check found it. */
export interface KubeProblem {
  check: 'driver' | 'engine' | 'port' | 'kubeconfig' | 'process' | 'api' | 'node';
  message: string;
  /** The last lines of berth-kube's log, when it exited or does not answer. */
  log?: string;
}

export interface BerthKubeStatus {
  state: 'running' | 'stopped';
  enabled: boolean;
  /** The engine's driver: the cluster runs on the host (native) or in the VM (qemu, lima). */
  driver: string;
  /** berth-kube's pid where it runs (on the host, or inside the VM). */
  pid?: number;
  /** The API server as the host reaches it (https://127.0.0.1:PORT). */
  apiServer?: string;
  nodes: { name: string; ready: boolean }[];
  /** The user's kubeconfig the context "berth" is merged into. */
  kubeconfig: string;
  /** Whether that file has the context "berth". */
  context: boolean;
  /** The first of `problems`' messages (kept for scripts that read `berth kube status --json`). */
  problem?: string;
  problems: KubeProblem[];
}

/** `enable`'s options; absent ones come from settings. */
export interface KubeEnableOptions {
  port?: number;
  podCIDR?: string;
  /** Switch the kubeconfig's current context to "berth" even when there is one. */
  use?: boolean;
}

export interface KubeEnableResult {
  node: string;
  apiServer: string;
  kubeconfig: string;
  /** The kubeconfig's current context after the merge. */
  currentContext: string;
  /** Milliseconds from the call to the node being Ready. */
  readyMs: number;
}

/** Each step of a long action as it starts ("Starting the cluster (API server on 127.0.0.1:6443)"). */
export type KubeProgress = (step: string) => void;

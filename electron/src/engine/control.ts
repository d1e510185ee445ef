/**
 * How main starts and stops the engine. The VM layer (electron/src/vm, the `VmDriver`s) or a native
 * berthd on Linux implements this; the rest of main only sees `EngineControl`.
 */
import type { EngineState, EngineStatus } from '@berth/common';
import { engineRequest } from './connection.js';
import { formatEndpoint, type EngineEndpoint } from './endpoint.js';

export interface EngineControl {
  status(): Promise<EngineStatus>;
  start(): Promise<EngineStatus>;
  stop(): Promise<EngineStatus>;
  restart(): Promise<EngineStatus>;
  /** Recent engine log lines, for Troubleshoot. */
  logs(): Promise<string>;
  onStatus(listener: (s: EngineStatus) => void): () => void;
}

export async function probe(ep: EngineEndpoint, timeoutMs = 2000): Promise<EngineState> {
  try {
    const r = await engineRequest(ep, { method: 'GET', path: '/_ping' }, timeoutMs);
    return r.status === 200 ? 'running' : 'error';
  } catch {
    return 'stopped';
  }
}

/** Whether the engine answers /_ping on `socketPath`. */
export async function pingSocket(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return (await probe({ kind: 'unix', socketPath }, timeoutMs)) === 'running';
}

/**
 * An engine Berth does not manage (DOCKER_HOST, or one started by hand): status by ping only, and
 * start/stop explain that they are not available instead of pretending.
 */
export class ExternalEngine implements EngineControl {
  private listeners = new Set<(s: EngineStatus) => void>();
  private last: EngineState | undefined;
  constructor(private readonly ep: EngineEndpoint) {}

  async status(): Promise<EngineStatus> {
    const state = await probe(this.ep);
    const s: EngineStatus = {
      state,
      host: formatEndpoint(this.ep),
      ...(state === 'stopped' ? { message: 'the engine does not answer on its socket' } : {}),
    };
    if (state !== this.last) {
      this.last = state;
      this.listeners.forEach((l) => l(s));
    }
    return s;
  }
  private unmanagedError(): Error {
    return new Error(
      `the engine at ${formatEndpoint(this.ep)} is not managed by Berth; start or stop it where it runs`,
    );
  }
  start(): Promise<EngineStatus> {
    return Promise.reject(this.unmanagedError());
  }
  stop(): Promise<EngineStatus> {
    return Promise.reject(this.unmanagedError());
  }
  restart(): Promise<EngineStatus> {
    return Promise.reject(this.unmanagedError());
  }
  async logs(): Promise<string> {
    return `(engine logs are kept where the engine at ${formatEndpoint(this.ep)} runs)\n`;
  }
  onStatus(listener: (s: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

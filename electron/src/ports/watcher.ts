/**
 * Follows the engine's /events and keeps the host's port forwards in step with running containers:
 * a container that starts gets its published ports on the host's 127.0.0.1; when it stops, dies or
 * is removed, they go away. Reconnects when the event stream ends (engine restarts).
 */
import http from 'node:http';
import type { PortPublisher } from './publisher.js';
import {
  listedPorts,
  publishedPorts,
  type InspectPorts,
  type ListPort,
  type PublishedPort,
} from './published.js';

const STOPPED = new Set(['die', 'stop', 'kill', 'destroy', 'pause']);

function getJson<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(new Error(`GET ${path}: ${res.statusCode} ${body.trim()}`));
          try {
            resolve(JSON.parse(body) as T);
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}

interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string };
  id?: string;
}

export class ContainerPortWatcher {
  private req: http.ClientRequest | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private firstSync: (() => void) | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly publisher: PortPublisher,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void = () => {},
  ) {}

  /** Follows events; resolves once the containers already running have their ports (or the engine is not up yet). */
  start(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.firstSync = resolve;
      this.follow();
    });
  }

  /** Forwards the ports of the containers running now (each time the event stream is (re)connected). */
  private async sync(): Promise<void> {
    try {
      const list = await getJson<{ Id: string; Ports?: ListPort[] }[]>(this.socketPath, '/containers/json');
      for (const c of list) await this.forward(c.Id, listedPorts(c.Ports));
    } catch (err) {
      this.log('cannot list containers', { err: (err as Error).message });
    }
  }

  private synced(): void {
    this.firstSync?.();
    this.firstSync = undefined;
  }

  private async forward(id: string, ports: PublishedPort[]): Promise<void> {
    for (const p of ports) {
      if (await this.publisher.add(id, p))
        this.log('forwarding port', { container: id.slice(0, 12), port: p.port, proto: p.proto });
    }
  }

  private async onEvent(e: EngineEvent): Promise<void> {
    const id = e.Actor?.ID ?? e.id;
    if (e.Type !== 'container' || !id) return;
    if (e.Action === 'start' || e.Action === 'unpause') {
      const c = await getJson<{ NetworkSettings?: { Ports?: InspectPorts } }>(
        this.socketPath,
        `/containers/${encodeURIComponent(id)}/json`,
      ).catch(() => undefined);
      if (c) await this.forward(id, publishedPorts(c.NetworkSettings?.Ports));
    } else if (e.Action && STOPPED.has(e.Action)) {
      await this.publisher.removeOwner(id);
    }
  }

  private follow(): void {
    if (this.stopped) return;
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const req = http.get({ socketPath: this.socketPath, path: `/events?filters=${filters}` }, (res) => {
      let buf = '';
      // Events that arrive while the list is read wait for it: a start and its stop must not race.
      let chain = this.sync().finally(() => this.synced());
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: EngineEvent;
          try {
            ev = JSON.parse(line) as EngineEvent;
          } catch {
            continue;
          }
          // One event at a time, in order: a start and its stop must not race.
          chain = chain
            .then(() => this.onEvent(ev))
            .catch((err: Error) => this.log('event handling failed', { err: err.message }));
        }
      });
      res.on('end', () => this.again());
      res.on('error', () => this.again());
    });
    req.on('error', () => {
      this.synced();
      this.again();
    });
    this.req = req;
  }

  private again(): void {
    if (this.stopped || this.retry) return;
    // Soon: the tunnel starts while the VM boots, and containers restarted at boot want their ports at once.
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.follow();
    }, 250);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.req?.destroy();
    await this.publisher.closeAll();
  }
}

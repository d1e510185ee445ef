/**
 * What every controller of the manager is built from: the client, the shared informers, a logger and an event
 * recorder of its own, and a work queue of keys. A controller's handlers enqueue keys from the moment they are
 * registered, but nothing is processed until every informer has its first list (`start`), so no sync sees a
 * half-filled cache and creates what already exists.
 */
import type { Client } from '../../client/index.js';
import type { Logger } from '../../log.js';
import { WorkQueue } from '../workqueue.js';
import { EventRecorder } from './events.js';
import type { InformerFactory } from './informer.js';

export interface ControllerContext {
  client: Client;
  informers: InformerFactory;
  log: Logger;
  /** Milliseconds since the epoch (tests move it). */
  now(): number;
}

export interface Controller {
  readonly name: string;
  /** Called once the informers are synced. */
  start(): Promise<void>;
  stop(): void;
  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void>;
}

export abstract class QueueController implements Controller {
  protected readonly queue: WorkQueue;
  protected readonly log: Logger;
  protected readonly recorder: EventRecorder;
  private ready = false;
  private readonly held = new Set<string>();

  constructor(
    readonly name: string,
    protected readonly ctx: ControllerContext,
    /** The event source component (e.g. "replicaset-controller"). */
    component: string,
    workers = 2,
  ) {
    this.log = ctx.log.child({ controller: name });
    this.recorder = new EventRecorder(ctx.client, component, this.log);
    this.queue = new WorkQueue((key) => this.sync(key), this.log, workers);
  }

  protected abstract sync(key: string): Promise<void>;

  /** The keys to look at on start (every object of the primary informer). */
  protected abstract initialKeys(): string[];

  enqueue(key: string): void {
    if (!this.ready) {
      this.held.add(key);
      return;
    }
    this.queue.add(key);
  }

  enqueueAfter(key: string, ms: number): void {
    if (!this.ready) this.held.add(key);
    else this.queue.addAfter(key, Math.max(0, ms));
  }

  async start(): Promise<void> {
    this.ready = true;
    for (const k of this.initialKeys()) this.queue.add(k);
    for (const k of this.held) this.queue.add(k);
    this.held.clear();
  }

  stop(): void {
    this.queue.stop();
  }

  async idle(): Promise<void> {
    await this.queue.idle();
    await this.recorder.flush();
  }

  protected now(): number {
    return this.ctx.now();
  }
}

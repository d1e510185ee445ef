/**
 * Events as client-go's record.EventRecorder writes them (core/v1, what `kubectl describe` lists): named
 * `<object>.<hex nanoseconds>` in the object's namespace (default for cluster-scoped objects), source and
 * reportingComponent the controller's name, and repeats of the same event (same object, type, reason and
 * message) folded into one whose count and lastTimestamp move, as the event correlator does. Writes are queued
 * and never block or fail the controller.
 */
import { isKubeError } from '../../errors.js';
import type { Client } from '../../client/index.js';
import type { Logger } from '../../log.js';
import { rfc3339 } from '../../registry/generic/metadata.js';
import type { KubeObject } from '../../registry/types.js';

export type EventType = 'Normal' | 'Warning';

interface Seen {
  name: string;
  namespace: string;
  count: number;
}

const CACHE_SIZE = 4096;

export interface Recorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export class EventRecorder implements Recorder {
  private readonly seen = new Map<string, Seen>();
  private chain: Promise<void> = Promise.resolve();
  private lastNanos = 0n;
  private pending = 0;

  constructor(
    private readonly client: Client,
    readonly component: string,
    private readonly log: Logger,
    private readonly host = '',
  ) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const m = obj.metadata ?? {};
    const ref = {
      kind: obj.kind,
      namespace: m.namespace,
      name: m.name,
      uid: m.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: m.resourceVersion,
    };
    const key = JSON.stringify([
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      ref.apiVersion,
      type,
      reason,
      message,
    ]);
    this.pending++;
    this.chain = this.chain
      .then(() => this.write(key, ref, type, reason, message))
      .catch((e: unknown) =>
        this.log.warn('event not recorded', { reason, object: m.name, error: e as Error }),
      )
      .finally(() => this.pending--);
  }

  /** Resolves when every queued event is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending) await this.chain;
  }

  /** Unique per recorder: two events in one millisecond still get distinct names. */
  private nanos(): bigint {
    let n = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime()[1] % 1_000_000);
    if (n <= this.lastNanos) n = this.lastNanos + 1n;
    this.lastNanos = n;
    return n;
  }

  private async write(
    key: string,
    ref: Record<string, string | undefined>,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const events = this.client.resource('v1', 'events');
    const now = rfc3339(new Date());
    const prior = this.seen.get(key);
    if (prior) {
      prior.count++;
      try {
        await events.patch(
          prior.name,
          'strategic',
          { count: prior.count, lastTimestamp: now, message },
          { namespace: prior.namespace },
        );
        this.touch(key, prior);
        return;
      } catch (e) {
        if (!isKubeError(e, 'NotFound')) throw e;
        // Expired or deleted: start a new event.
      }
    }
    const namespace = ref.namespace || 'default';
    const name = `${ref.name}.${this.nanos().toString(16)}`;
    await events.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)),
      reason,
      message,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: this.host,
    });
    this.touch(key, { name, namespace, count: 1 });
  }

  private touch(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    if (this.seen.size > CACHE_SIZE) this.seen.delete(this.seen.keys().next().value!);
  }
}

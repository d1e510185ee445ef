/**
 * The kubelet's event recorder: core/v1 Events as client-go's recorder writes them for the kubelet (source
 * `kubelet`/<node>, reportingComponent `kubelet`, name `<object>.<hex nanoseconds>`), with its correlator's
 * de-duplication: an identical event (same object, sub-object, type, reason, message) bumps `count` and
 * `lastTimestamp` of the one already written instead of making another. Writes are queued so a pod sync never
 * waits for them; a failed write is logged and dropped, as client-go does.
 */
import { isKubeError } from '../errors.js';
import type { Client } from '../client/index.js';
import type { Logger } from '../log.js';
import type { KubeObject } from '../registry/types.js';
import type { KubeletEvent } from './provider.js';
import type { Pod } from './types.js';

interface Involved {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  fieldPath?: string;
}

interface Pending {
  involved: Involved;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  at: Date;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: string;
}

const MAX_SEEN = 4096;
const MAX_QUEUE = 2000;
const MAX_MESSAGE = 1024;

export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class EventRecorder {
  private readonly queue: Pending[] = [];
  private readonly seen = new Map<string, Seen>();
  private seq = 0;
  private pumping?: Promise<void>;
  private dropped = 0;

  constructor(
    private readonly client: Client,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  /** An event about a pod (or one of its containers, by fieldPath). */
  pod(pod: Pod, e: KubeletEvent): void {
    const m = pod.metadata ?? {};
    this.enqueue({
      involved: {
        kind: 'Pod',
        apiVersion: 'v1',
        name: m.name ?? '',
        namespace: m.namespace ?? 'default',
        uid: m.uid ?? '',
        ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
        ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}),
      },
      type: e.type,
      reason: e.reason,
      message: e.message,
      at: new Date(),
    });
  }

  /** An event about the node: the kubelet's node reference has the node's name as its uid. */
  node(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.enqueue({
      involved: { kind: 'Node', apiVersion: 'v1', name: this.nodeName, uid: this.nodeName },
      type,
      reason,
      message,
      at: new Date(),
    });
  }

  private enqueue(p: Pending): void {
    if (this.queue.length >= MAX_QUEUE) {
      if (this.dropped++ % 100 === 0)
        this.log.warn('event queue full; dropping events', { dropped: this.dropped });
      return;
    }
    this.queue.push(p);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Resolves once every queued event has been written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    for (let p = this.queue.shift(); p; p = this.queue.shift()) {
      try {
        await this.write(p);
      } catch (err) {
        this.log.debug('event not written', { reason: p.reason, error: (err as Error).message });
      }
    }
  }

  private async write(p: Pending): Promise<void> {
    const events = this.client.resource<KubeObject>('v1', 'events');
    const namespace = p.involved.namespace || 'default';
    const message = p.message.length > MAX_MESSAGE ? `${p.message.slice(0, MAX_MESSAGE - 3)}...` : p.message;
    const key = JSON.stringify([
      p.involved.kind,
      namespace,
      p.involved.name,
      p.involved.uid,
      p.involved.fieldPath ?? '',
      p.type,
      p.reason,
      message,
    ]);
    const now = rfc3339(p.at);
    const prior = this.seen.get(key);
    if (prior) {
      try {
        await events.patch(
          prior.name,
          'strategic',
          { count: prior.count + 1, lastTimestamp: now, message },
          { namespace },
        );
        prior.count++;
        this.remember(key, prior);
        return;
      } catch (err) {
        if (!isKubeError(err, 'NotFound')) throw err;
      }
    }
    const nanos = BigInt(p.at.getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const name = `${p.involved.name}.${nanos.toString(16)}`;
    const { resourceVersion, ...ref } = p.involved;
    await events.create(
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { ...ref, ...(resourceVersion ? { resourceVersion } : {}) },
        reason: p.reason,
        message,
        source: { component: 'kubelet', host: this.nodeName },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type: p.type,
        eventTime: null,
        reportingComponent: 'kubelet',
        reportingInstance: this.nodeName,
      },
      { namespace },
    );
    this.remember(key, { name, namespace, count: 1, first: now });
  }

  /** An LRU of written events (Map keeps insertion order: re-inserting marks recent use). */
  private remember(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
  }
}

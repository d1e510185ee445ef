/** A container's stdio and resource views: attach, logs, resize, top and stats. */
import type { ContainerTopResponse } from '@berth/common';
import { badParameter, conflict, notImplemented } from '../errors.js';
import type { RuntimeStats } from '../runtime/types.js';
import type { AttachRequest, AttachStream, ContainerIoPort } from './api-port.js';
import type { ContainerDeps } from './deps.js';
import type { Lifecycle } from './lifecycle.js';
import { readLogs, type LogEntry, type LogQuery } from './logs.js';
import { keepsLog, logLimits } from './spec.js';
import { dockerStats, emptyStats } from './stats.js';
import { canAttach, isRunning, Status } from './state.js';
import { parseDetachKeys } from './stdio.js';
import { top } from './top.js';

/** A second, or less when the client goes away. */
const second = (signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, 1000);
    signal?.addEventListener('abort', done, { once: true });
  });

export class ContainerIo implements ContainerIoPort {
  constructor(
    private readonly d: ContainerDeps,
    private readonly lifecycle: Lifecycle,
  ) {}

  async attach(ref: string, req: AttachRequest): Promise<AttachStream> {
    const rec = this.d.store.get(ref);
    canAttach(rec.state);
    const keys = parseDetachKeys(req.detachKeys);
    const opts = {
      stdin: req.stdin && rec.config.OpenStdin === true,
      stdout: req.stdout,
      stderr: req.stderr,
    };
    const live = req.stream ? await this.lifecycle.attach(rec.id, opts) : undefined;
    const untilNs = live ? live.replayUntilNs : 0;
    const { maxFile } = logLimits(rec.hostConfig);
    const replay =
      req.logs && keepsLog(rec.hostConfig)
        ? readLogs(this.d.store.files(rec.id).log, maxFile, {
            stdout: opts.stdout,
            stderr: opts.stderr,
            sinceNs: 0,
            untilNs,
            tail: -1,
            follow: false,
          })
        : undefined;
    this.d.events.publish('container', 'attach', rec.id, this.lifecycle.attrs(rec));
    return {
      tty: rec.config.Tty === true,
      // As dockerd's CopyStreams: only a terminal's input is scanned for the detach keys (binary stdin passes).
      keys: rec.config.Tty === true ? keys : [],
      stdin: opts.stdin,
      replay,
      session: live?.session,
      cancel: () => live?.cancel(),
      detached: () => this.d.events.publish('container', 'detach', rec.id, this.lifecycle.attrs(rec)),
    };
  }

  async logs(
    ref: string,
    q: LogQuery,
    signal: AbortSignal,
  ): Promise<{ tty: boolean; entries: AsyncIterable<LogEntry> }> {
    const rec = this.d.store.get(ref);
    if (!q.stdout && !q.stderr) throw badParameter('You must choose at least one stream');
    if (!keepsLog(rec.hostConfig)) throw notImplemented('configured logging driver does not support reading');
    const stopped = this.lifecycle.nextExit(rec.id, signal).catch(() => undefined);
    const { maxFile } = logLimits(rec.hostConfig);
    const entries = readLogs(this.d.store.files(rec.id).log, maxFile, q, {
      running: () => {
        const cur = this.d.store.find(rec.id)?.state ?? rec.state;
        return isRunning(cur) || cur.status === Status.Restarting;
      },
      stopped,
      signal,
    });
    return { tty: rec.config.Tty === true, entries };
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const rec = this.d.store.get(ref);
    if (height < 0 || width < 0) throw badParameter('invalid height or width');
    if (!isRunning(rec.state)) throw conflict(`Container ${rec.id} is not running`);
    await this.d.runtime.resize(rec.id, { rows: height, cols: width });
  }

  async top(ref: string, psArgs: string | null): Promise<ContainerTopResponse> {
    const rec = this.d.store.get(ref);
    if (!isRunning(rec.state)) throw conflict(`Container ${rec.id} is not running`);
    return top(psArgs, await this.d.runtime.top(rec.id));
  }

  private async sample(id: string): Promise<RuntimeStats | undefined> {
    const cur = this.d.store.find(id);
    if (!cur || !isRunning(cur.state)) return undefined;
    return this.d.runtime.stats(id).catch(() => undefined);
  }

  async statsOnce(ref: string, oneShot: boolean): Promise<unknown> {
    const rec = this.d.store.get(ref);
    if (!isRunning(rec.state)) return emptyStats(rec.id, rec.name);
    const prev = await this.sample(rec.id);
    // precpu comes from a sample a second earlier, as dockerd's (unless one-shot).
    if (!oneShot && prev) await second();
    const cur = oneShot ? prev : await this.sample(rec.id);
    return cur
      ? dockerStats(rec.id, rec.name, cur, oneShot ? undefined : prev)
      : emptyStats(rec.id, rec.name);
  }

  async statsStream(ref: string, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    const rec = this.d.store.get(ref);
    return this.samples(rec.id, rec.name, signal);
  }

  private async *samples(id: string, name: string, signal: AbortSignal): AsyncGenerator<unknown> {
    let prev = await this.sample(id);
    if (prev) yield dockerStats(id, name, prev, undefined);
    while (!signal.aborted) {
      await second(signal);
      if (signal.aborted) break;
      const cur = await this.sample(id);
      if (!cur) {
        yield emptyStats(id, name);
        if (!this.d.store.find(id)) break;
        continue;
      }
      yield dockerStats(id, name, cur, prev);
      prev = cur;
    }
  }
}

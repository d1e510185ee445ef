/** Container stdio over the API: attach (hijacked, detach keys, before or after start), logs, resize. */
import type { ContainerApi } from '../../containers/api-port.js';
import { readLogs, parseLogTime } from '../../containers/logs.js';
import type { ContainerRecord } from '../../containers/record.js';
import { logLimits } from '../../containers/spec.js';
import { canAttach, isRunning } from '../../containers/state.js';
import { DetachScanner, frame, hijack, parseDetachKeys, type ClientStream } from '../../containers/stdio.js';
import type { AttachOptions, AttachSession } from '../../runtime/types.js';
import { badParameter, conflict } from '../errors.js';
import { queryBool, queryInt } from '../http.js';
import type { Router } from '../router.js';

/** Connects one attach session to a hijacked client; resolves when either side is done. */
function wire(
  c: ContainerApi,
  rec: ContainerRecord,
  session: AttachSession,
  client: ClientStream,
  keys: number[],
  stdin: boolean,
): void {
  let done = false;
  const finish = (detached: boolean) => {
    if (done) return;
    done = true;
    session.detach();
    client.close();
    if (detached)
      c.containers.d.events.publish('container', 'detach', rec.id, c.containers.lifecycle.attrs(rec));
  };
  session.output.on('data', (d: Buffer) => client.out.write(d));
  session.output.on('end', () => finish(false));
  session.output.on('error', () => finish(false));
  const input = client.input;
  if (stdin && session.stdin) {
    const sin = session.stdin;
    sin.on('error', () => undefined);
    const scanner = new DetachScanner(keys, sin, () => finish(true));
    if (client.head.length) scanner.push(client.head);
    input?.on('data', (d: Buffer) => scanner.push(d));
    // The client half-closed its side (`echo hi | docker run -i`): close the container's stdin.
    input?.on('end', () => sin.end());
  } else input?.on('data', () => undefined);
  input?.on('close', () => finish(false));
  input?.on('error', () => finish(false));
}

export function registerContainerIoRoutes(r: Router, c: ContainerApi): void {
  r.post('/containers/{id}/attach', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    canAttach(rec.state);
    const q = ctx.query;
    const keys = parseDetachKeys(q.get('detachKeys'));
    const opts: AttachOptions = {
      stdin: queryBool(q, 'stdin') && rec.config.OpenStdin === true,
      stdout: queryBool(q, 'stdout'),
      stderr: queryBool(q, 'stderr'),
    };
    const tty = rec.config.Tty === true;
    const client = hijack(ctx.res, ctx.upgrade, tty);
    if (queryBool(q, 'logs')) {
      const { maxFile } = logLimits(rec.hostConfig);
      for await (const e of readLogs(c.store.logPath(rec.id), maxFile, {
        stdout: opts.stdout,
        stderr: opts.stderr,
        sinceNs: 0,
        untilNs: 0,
        tail: -1,
        follow: false,
      })) {
        const b = Buffer.from(e.log);
        client.out.write(tty ? b : frame(e.stream === 'stdout' ? 1 : 2, b));
      }
    }
    if (!queryBool(q, 'stream')) {
      client.close();
      return;
    }
    if (isRunning(rec.state)) {
      try {
        wire(c, rec, await c.runtime.attach(rec.id, opts), client, keys, opts.stdin);
      } catch {
        client.close();
      }
      return;
    }
    // Not running yet: docker run / start -a attach first, then start; the session arrives with start.
    const cancel = c.containers.lifecycle.addPendingAttach(rec.id, {
      opts,
      deliver: (s) => wire(c, rec, s, client, keys, opts.stdin),
      fail: () => client.close(),
    });
    client.input?.on('close', cancel);
    ctx.res.on('close', () => {
      if (!ctx.upgrade) cancel();
    });
    c.containers.d.events.publish('container', 'attach', rec.id, c.containers.lifecycle.attrs(rec));
  });

  r.get('/containers/{id}/logs', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    const q = ctx.query;
    const stdout = queryBool(q, 'stdout');
    const stderr = queryBool(q, 'stderr');
    if (!stdout && !stderr) throw badParameter('You must choose at least one stream');
    const sinceNs = parseLogTime(q.get('since'));
    const untilNs = parseLogTime(q.get('until'));
    if (Number.isNaN(sinceNs) || Number.isNaN(untilNs))
      throw badParameter('invalid value for since/until: expected a unix timestamp or RFC 3339 time');
    const tailRaw = q.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? -1 : Number(tailRaw);
    if (!Number.isInteger(tail) || tail < -1) throw badParameter(`invalid value for tail: ${tailRaw}`);
    const timestamps = queryBool(q, 'timestamps');
    const tty = rec.config.Tty === true;
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    ctx.res.writeHead(200, {
      'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
    });
    ctx.res.flushHeaders();
    const stopped = c.containers.lifecycle.waiters.next(rec.id, 'exit', ac.signal).catch(() => undefined);
    const { maxFile } = logLimits(rec.hostConfig);
    const entries = readLogs(
      c.store.logPath(rec.id),
      maxFile,
      { stdout, stderr, sinceNs, untilNs, tail, follow: queryBool(q, 'follow') },
      {
        running: () =>
          isRunning(c.store.find(rec.id)?.state ?? rec.state) ||
          c.store.find(rec.id)?.state.status === 'restarting',
        stopped,
        signal: ac.signal,
      },
    );
    for await (const e of entries) {
      if (ac.signal.aborted) break;
      const b = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log);
      ctx.res.write(tty ? b : frame(e.stream === 'stdout' ? 1 : 2, b));
    }
    ctx.res.end();
  });

  r.post('/containers/{id}/resize', async (ctx) => {
    const rec = c.store.get(ctx.params.id!);
    const h = queryInt(ctx.query, 'h', 0)!;
    const w = queryInt(ctx.query, 'w', 0)!;
    if (h < 0 || w < 0) throw badParameter('invalid height or width');
    if (!isRunning(rec.state)) throw conflict(`Container ${rec.id} is not running`);
    await c.runtime.resize(rec.id, { rows: h, cols: w });
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '0' });
    ctx.res.end();
  });
}

/** Container stdio over the API: attach (hijacked, detach keys, before or after start), logs, resize. */
import type { AttachStream, ContainerIoPort } from '../../containers/api-port.js';
import { parseLogTime } from '../../containers/logs.js';
import { DetachScanner, frame } from '../../containers/stdio.js';
import type { AttachSession } from '../../runtime/types.js';
import { badParameter } from '../errors.js';
import { hijack, readUpgradeBytes, type ClientStream } from '../hijack.js';
import { queryBool, queryInt } from '../http.js';
import type { Router } from '../router.js';

/** Connects the live session to the hijacked client; ends when either side is done. */
function wire(a: AttachStream, session: AttachSession, client: ClientStream): void {
  let done = false;
  const finish = (detached: boolean) => {
    if (done) return;
    done = true;
    session.detach();
    client.close();
    if (detached) a.detached();
  };
  session.output.on('data', (d: Buffer) => client.out.write(d));
  session.output.on('end', () => finish(false));
  session.output.on('error', () => finish(false));
  const input = client.input;
  if (a.stdin && session.stdin) {
    const sin = session.stdin;
    sin.on('error', () => undefined);
    const scanner = new DetachScanner(a.keys, sin, () => finish(true));
    if (client.head.length) scanner.push(client.head);
    input?.on('data', (d: Buffer) => scanner.push(d));
    // The client half-closed its side (`echo hi | docker run -i`): close the container's stdin.
    input?.on('end', () => sin.end());
  } else input?.on('data', () => undefined);
  input?.on('close', () => finish(false));
  input?.on('error', () => finish(false));
}

export function registerContainerIoRoutes(r: Router, c: ContainerIoPort): void {
  r.post('/containers/{id}/attach', async (ctx) => {
    const q = ctx.query;
    // A request body (dockerode's options) is not stdin: only what follows it is (dockerd drops it too).
    const stdinHead = ctx.upgrade ? (await readUpgradeBytes(ctx.req, ctx.upgrade)).rest : undefined;
    const a = await c.attach(ctx.params.id, {
      stdin: queryBool(q, 'stdin'),
      stdout: queryBool(q, 'stdout'),
      stderr: queryBool(q, 'stderr'),
      logs: queryBool(q, 'logs'),
      stream: queryBool(q, 'stream'),
      detachKeys: q.get('detachKeys'),
    });
    const client = hijack(ctx.res, ctx.upgrade, a.tty);
    if (stdinHead) client.head = stdinHead;
    let gone = false;
    client.input?.on('close', () => {
      gone = true;
      a.cancel();
    });
    ctx.res.on('close', () => {
      if (!ctx.upgrade) {
        gone = true;
        a.cancel();
      }
    });
    try {
      for await (const e of a.replay ?? []) {
        const b = Buffer.from(e.log);
        client.out.write(a.tty ? b : frame(e.stream === 'stdout' ? 1 : 2, b));
      }
    } catch {
      /* a log file that went away: the live part still follows */
    }
    if (!a.session || gone) {
      a.cancel();
      a.session?.then(
        (s) => s.detach(),
        () => undefined,
      );
      client.close();
      return;
    }
    // Not running yet: docker run / start -a attach first, then start; the session arrives with the start.
    a.session.then(
      (s) => {
        if (gone) s.detach();
        else wire(a, s, client);
      },
      () => client.close(),
    );
  });

  r.get('/containers/{id}/logs', async (ctx) => {
    const q = ctx.query;
    const sinceNs = parseLogTime(q.get('since'));
    const untilNs = parseLogTime(q.get('until'));
    if (Number.isNaN(sinceNs) || Number.isNaN(untilNs))
      throw badParameter('invalid value for since/until: expected a unix timestamp or RFC 3339 time');
    const tailRaw = q.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? -1 : Number(tailRaw);
    if (!Number.isInteger(tail) || tail < -1) throw badParameter(`invalid value for tail: ${tailRaw}`);
    const timestamps = queryBool(q, 'timestamps');
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    const { tty, entries } = await c.logs(
      ctx.params.id,
      {
        stdout: queryBool(q, 'stdout'),
        stderr: queryBool(q, 'stderr'),
        sinceNs,
        untilNs,
        tail,
        follow: queryBool(q, 'follow'),
      },
      ac.signal,
    );
    ctx.res.writeHead(200, {
      'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
    });
    ctx.res.flushHeaders();
    for await (const e of entries) {
      if (ac.signal.aborted) break;
      const b = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log);
      ctx.res.write(tty ? b : frame(e.stream === 'stdout' ? 1 : 2, b));
    }
    ctx.res.end();
  });

  r.post('/containers/{id}/resize', async (ctx) => {
    await c.resize(ctx.params.id, queryInt(ctx.query, 'h', 0)!, queryInt(ctx.query, 'w', 0)!);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '0' });
    ctx.res.end();
  });
}

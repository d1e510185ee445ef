/** /containers/{id}/exec and /exec/{id}/{start,resize,json}. */
import type { ContainerApi } from '../../containers/api-port.js';
import { DetachScanner, frame, hijack, parseDetachKeys, readUpgradeBody } from '../../containers/stdio.js';
import { badParameter } from '../errors.js';
import { queryInt, readJsonBody, sendJson } from '../http.js';
import type { Router } from '../router.js';

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export function registerExecRoutes(r: Router, c: ContainerApi): void {
  r.post('/containers/{id}/exec', async (ctx) => {
    const id = c.execs.create(ctx.params.id!, await readJsonBody<unknown>(ctx.req, {}));
    sendJson(ctx.res, 201, { Id: id });
  });

  r.post('/exec/{id}/start', async (ctx) => {
    let body: ExecStartBody;
    let rest = Buffer.alloc(0);
    if (ctx.upgrade) {
      const r = await readUpgradeBody(ctx.req, ctx.upgrade);
      body = r.body as ExecStartBody;
      rest = r.rest;
    } else body = await readJsonBody<ExecStartBody>(ctx.req, {});
    if (typeof body !== 'object' || body === null) throw badParameter('invalid exec start body');
    const rec = c.execs.get(ctx.params.id!);
    const cfg = c.execs.inspect(rec.id);
    const tty = body.Tty ?? cfg.ProcessConfig.tty;
    if (body.Detach) {
      const h = await c.execs.start(rec.id, { tty, consoleSize: body.ConsoleSize ?? null });
      h.stdin.end();
      h.stdout.resume();
      h.stderr?.resume();
      ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '0' });
      ctx.res.end();
      return;
    }
    const keys = parseDetachKeys(rec.config.DetachKeys || null);
    const client = hijack(ctx.res, ctx.upgrade, tty);
    client.head = rest;
    let h;
    try {
      h = await c.execs.start(rec.id, { tty, consoleSize: body.ConsoleSize ?? null });
    } catch (err) {
      // The stream is already hijacked: dockerd reports start failures in-band.
      const msg = Buffer.from(`${(err as Error).message}\r\n`);
      client.out.write(tty ? msg : frame(2, msg));
      client.close();
      return;
    }
    const out = h.stdout;
    const errStream = h.stderr;
    if (cfg.OpenStdout || tty) out.on('data', (d: Buffer) => client.out.write(tty ? d : frame(1, d)));
    else out.resume();
    if (errStream) {
      if (cfg.OpenStderr) errStream.on('data', (d: Buffer) => client.out.write(frame(2, d)));
      else errStream.resume();
    }
    h.stdin.on('error', () => undefined);
    let detached = false;
    let exited = false;
    void h.exit.finally(() => (exited = true)).catch(() => undefined);
    // A terminal whose client went away without detaching (a closed dashboard tab, a killed CLI) is hung
    // up, as closing a terminal window does; otherwise each closed session would leave a shell behind. A
    // terminal's stdin has no end of its own (^D is a byte), so its connection's end means the client left.
    const hangup = () => {
      if (!detached && !exited) h.hangup();
    };
    if (tty) {
      const conn = client.input ?? ctx.res;
      conn.once('close', hangup);
      conn.once('error', hangup);
      if (cfg.OpenStdin) client.input?.once('end', hangup);
    }
    if (cfg.OpenStdin) {
      const scanner = new DetachScanner(keys, h.stdin, () => {
        detached = true;
        client.close();
      });
      if (client.head.length) scanner.push(client.head);
      client.input?.on('data', (d: Buffer) => scanner.push(d));
      client.input?.on('end', () => h.stdin.end());
    } else {
      h.stdin.end();
      client.input?.on('data', () => undefined);
    }
    client.input?.on('error', () => undefined);
    client.input?.resume();
    // Close only after the exit is recorded: `docker exec` reads ExitCode from inspect right after EOF.
    await h.exit.catch(() => undefined);
    client.close();
  });

  r.post('/exec/{id}/resize', async (ctx) => {
    const h = queryInt(ctx.query, 'h', 0)!;
    const w = queryInt(ctx.query, 'w', 0)!;
    await c.execs.resize(ctx.params.id!, h, w);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '0' });
    ctx.res.end();
  });

  r.get('/exec/{id}/json', (ctx) => {
    sendJson(ctx.res, 200, c.execs.inspect(ctx.params.id!));
  });
}

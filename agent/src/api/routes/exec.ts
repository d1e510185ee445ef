/** /containers/{id}/exec and /exec/{id}/{start,resize,json}. */
import type { ExecPort } from '../../containers/api-port.js';
import { DetachScanner, frame } from '../../containers/stdio.js';
import { hijack, readUpgradeBody } from '../hijack.js';
import { queryInt, readJsonBody, sendJson } from '../http.js';
import type { Router } from '../router.js';

export function registerExecRoutes(r: Router, c: ExecPort): void {
  r.post('/containers/{id}/exec', async (ctx) => {
    sendJson(ctx.res, 201, { Id: c.createExec(ctx.params.id, await readJsonBody<unknown>(ctx.req, {})) });
  });

  r.post('/exec/{id}/start', async (ctx) => {
    const id = ctx.params.id;
    let body: unknown;
    let rest = Buffer.alloc(0);
    if (ctx.upgrade) ({ body, rest } = await readUpgradeBody(ctx.req, ctx.upgrade));
    else body = await readJsonBody<unknown>(ctx.req, {});
    const raw = c.execStreamRaw(id, body);
    if ((body as { Detach?: boolean }).Detach) {
      await c.startExecDetached(id, body);
      ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '0' });
      ctx.res.end();
      return;
    }
    // dockerd's content type: from the start request's Tty after an upgrade, raw-stream without one (whatever
    // the framing: a non-TTY stream is still multiplexed).
    const client = hijack(ctx.res, ctx.upgrade, ctx.upgrade ? raw : true);
    client.head = rest;
    let s;
    try {
      s = await c.startExec(id, body);
    } catch (err) {
      // The stream is already hijacked: dockerd reports start failures in-band.
      const msg = Buffer.from(`${(err as Error).message}\r\n`);
      client.out.write(raw ? msg : frame(2, msg));
      client.close();
      return;
    }
    const { handle: h } = s;
    if (s.openStdout || s.pty) h.stdout.on('data', (d: Buffer) => client.out.write(raw ? d : frame(1, d)));
    else h.stdout.resume();
    if (h.stderr) {
      if (s.openStderr) h.stderr.on('data', (d: Buffer) => client.out.write(raw ? d : frame(2, d)));
      else h.stderr.resume();
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
    if (s.pty) {
      const conn = client.input ?? ctx.res;
      conn.once('close', hangup);
      conn.once('error', hangup);
      if (s.openStdin) client.input?.once('end', hangup);
    }
    if (s.openStdin) {
      const scanner = new DetachScanner(s.keys, h.stdin, () => {
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
    await c.resizeExec(ctx.params.id, queryInt(ctx.query, 'h', 0)!, queryInt(ctx.query, 'w', 0)!);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '0' });
    ctx.res.end();
  });

  r.get('/exec/{id}/json', (ctx) => {
    sendJson(ctx.res, 200, c.inspectExec(ctx.params.id));
  });
}

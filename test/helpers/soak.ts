/**
 * A keep-alive soak against an engine socket, as the dashboard, dockerode and compose load it: N clients, each
 * on its own keep-alive agent, sending M requests back to back, while an attach stream and a `logs -f` stream
 * of a chatty container stay open. Every failure is counted with its reason; the streams must carry every line,
 * in order, from start to end.
 */
import http from 'node:http';

export interface SoakResult {
  requests: number;
  failures: string[];
  ms: number;
  /** Lines each stream saw during the soak, and whether any number was skipped or repeated. */
  streams: { name: string; lines: number; gaps: string[]; error?: string }[];
}

function once(agent: http.Agent, socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, agent, headers: { Host: 'docker' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Follows a multiplexed stream (8-byte frame headers) of `line-N` lines; records numbers out of sequence. */
function follow(socketPath: string, method: string, path: string, name: string) {
  const seen = { name, lines: 0, gaps: [] as string[], error: undefined as string | undefined, last: -1 };
  let frames = Buffer.alloc(0);
  let text = '';
  const line = (l: string) => {
    const m = /line-(\d+)/.exec(l);
    if (!m) return;
    const n = Number(m[1]);
    if (seen.last >= 0 && n !== seen.last + 1) seen.gaps.push(`${seen.last} → ${n}`);
    seen.last = n;
    seen.lines++;
  };
  const req = http.request({ socketPath, path, method, headers: { Host: 'docker' } }, (res) => {
    if (res.statusCode !== 200) seen.error = `status ${res.statusCode}`;
    res.on('data', (d: Buffer) => {
      frames = Buffer.concat([frames, d]);
      while (frames.length >= 8 && frames.length >= 8 + frames.readUInt32BE(4)) {
        const size = frames.readUInt32BE(4);
        text += frames.subarray(8, 8 + size).toString('utf8');
        frames = frames.subarray(8 + size);
      }
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        line(text.slice(0, nl));
        text = text.slice(nl + 1);
      }
    });
    res.on('error', (e) => (seen.error = e.message));
    res.on('close', () => (seen.error ??= 'stream ended during the soak'));
  });
  req.on('error', (e) => (seen.error = e.message));
  req.end();
  return { seen, stop: () => req.destroy() };
}

export async function keepAliveSoak(
  socketPath: string,
  opts: { clients: number; requests: number; container: string },
): Promise<SoakResult> {
  const c = encodeURIComponent(opts.container);
  const streams = [
    follow(socketPath, 'GET', `/v1.44/containers/${c}/logs?follow=1&stdout=1&tail=0`, 'logs -f'),
    follow(socketPath, 'POST', `/v1.44/containers/${c}/attach?stream=1&stdout=1`, 'attach'),
  ];
  // Light requests: the tunnel is under test, not berthd's list speed (under TCG a list costs the guest ~10x).
  const paths = ['/_ping', '/v1.44/version', '/_ping', `/v1.44/containers/${c}/json`];
  const failures: string[] = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let n = 0; n < opts.requests; n++) {
        const p = paths[(i + n) % paths.length];
        try {
          const status = await once(agent, socketPath, p);
          if (status !== 200) failures.push(`client ${i} #${n} ${p}: status ${status}`);
        } catch (e) {
          failures.push(`client ${i} #${n} ${p}: ${(e as Error).message}`);
        }
      }
      agent.destroy();
    }),
  );
  const ms = Date.now() - t0;
  // The streams were open the whole time: still open now (no error), and gapless.
  const result = streams.map(({ seen }) => ({
    name: seen.name,
    lines: seen.lines,
    gaps: seen.gaps,
    ...(seen.error ? { error: seen.error } : {}),
  }));
  for (const s of streams) s.stop();
  return { requests: opts.clients * opts.requests, failures, ms, streams: result };
}

/**
 * Healthchecks (image HEALTHCHECK or --health-*): probes run as execs in the container on dockerd's schedule;
 * status and the last 5 results land in inspect's State.Health; transitions emit health_status events.
 */
import type { HealthConfig, HealthLogEntry } from '@berth/common';
import type { ContainerDeps } from './deps.js';
import type { ContainerRecord } from './record.js';
import { capabilities } from './spec.js';
import { isRunning } from './state.js';
import { resolveUser } from './user.js';

const NS = 1e6; // nanoseconds per millisecond
const DEFAULT_INTERVAL = 30_000;
const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_START_INTERVAL = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_OUTPUT = 4096;
const KEEP = 5;

function ms(ns: number | undefined, dflt: number): number {
  return ns && ns > 0 ? ns / NS : dflt;
}

export function probeArgs(hc: HealthConfig | undefined): string[] | undefined {
  const t = hc?.Test;
  if (!t?.length || t[0] === 'NONE') return undefined;
  if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
  if (t[0] === 'CMD') return t.slice(1);
  return ['/bin/sh', '-c', t.join(' ')];
}

export class HealthMonitor {
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly d: ContainerDeps) {}

  start(rec: ContainerRecord): void {
    const args = probeArgs(rec.config.Healthcheck);
    if (!args) return;
    this.stop(rec.id);
    rec.health = { Status: 'starting', FailingStreak: 0, Log: rec.health?.Log ?? [] };
    const startedAt = Date.now();
    const hc = rec.config.Healthcheck!;
    const startPeriod = ms(hc.StartPeriod, 0);
    const schedule = () => {
      const inStart = Date.now() - startedAt < startPeriod;
      const delay =
        inStart && rec.health?.Status === 'starting'
          ? ms(hc.StartInterval, DEFAULT_START_INTERVAL)
          : ms(hc.Interval, DEFAULT_INTERVAL);
      this.timers.set(
        rec.id,
        setTimeout(() => {
          void this.probe(rec, args, hc, Date.now() - startedAt < startPeriod).finally(() => {
            if (this.timers.has(rec.id) && isRunning(rec.state)) schedule();
          });
        }, delay),
      );
    };
    schedule();
  }

  stop(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private async probe(
    rec: ContainerRecord,
    args: string[],
    hc: HealthConfig,
    inStartPeriod: boolean,
  ): Promise<void> {
    if (rec.state.status !== 'running') return;
    const start = new Date();
    let output = '';
    let exitCode: number;
    try {
      // Probes run as the container's user, as dockerd's.
      const image = await this.d.images.resolve(rec.image);
      const u = await resolveUser(
        [this.d.store.files(rec.id).upper, ...(image?.layerDirs ?? [])],
        rec.config.User ?? '',
        rec.hostConfig.GroupAdd ?? [],
      );
      const h = await this.d.runtime.exec(rec.id, {
        args,
        env: (rec.config.Env ?? []).filter((e) => e.includes('=')),
        cwd: rec.config.WorkingDir || '/',
        user: { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids },
        terminal: false,
        capabilities: capabilities(rec.hostConfig),
        noNewPrivileges: false,
        privileged: false,
        seccomp: 'default',
      });
      h.stdin.end();
      const collect = (b: Buffer) => {
        if (output.length < MAX_OUTPUT) output += b.toString('utf8');
      };
      h.stdout.on('data', collect);
      h.stderr?.on('data', collect);
      const timeout = ms(hc.Timeout, DEFAULT_TIMEOUT);
      let timedOut = false;
      const t = setTimeout(() => {
        timedOut = true;
        h.kill('SIGKILL');
      }, timeout);
      const st = await h.exit;
      clearTimeout(t);
      exitCode = timedOut ? -1 : st.exitCode;
      if (timedOut) output = `Health check exceeded timeout (${timeout / 1000}s)`;
    } catch (err) {
      exitCode = -1;
      output = (err as Error).message;
    }
    const cur = this.d.store.find(rec.id);
    if (!cur || !cur.health || !isRunning(cur.state)) return;
    const entry: HealthLogEntry = {
      Start: start.toISOString(),
      End: new Date().toISOString(),
      ExitCode: exitCode,
      Output: output.slice(0, MAX_OUTPUT),
    };
    const h = cur.health;
    h.Log = [...h.Log, entry].slice(-KEEP);
    const before = h.Status;
    if (exitCode === 0) {
      h.Status = 'healthy';
      h.FailingStreak = 0;
    } else if (!(inStartPeriod && before === 'starting')) {
      h.FailingStreak++;
      if (h.FailingStreak >= (hc.Retries || DEFAULT_RETRIES)) h.Status = 'unhealthy';
    }
    if (h.Status !== before)
      this.d.events.publish('container', `health_status: ${h.Status}`, cur.id, {
        image: cur.config.Image ?? '',
        name: cur.name.slice(1),
      });
    await this.d.store.save(cur).catch(() => undefined);
  }
}

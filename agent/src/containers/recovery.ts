/**
 * After a berthd restart: live shims are re-adopted (the container keeps running, attach/logs/exec work),
 * containers that died meanwhile get their recorded exit, and those the runtime no longer knows (host reboot,
 * lost state) are marked exited with 255. Then restart policies and AutoRemove apply. The kernel's answer
 * wins over what was persisted.
 */
import type { RuntimeState } from '../runtime/types.js';
import type { ContainerDeps } from './deps.js';
import type { Lifecycle } from './lifecycle.js';
import { shouldRestartOnBoot } from './restart-policy.js';
import { isRunning, Status } from './state.js';

export async function recoverContainers(d: ContainerDeps, lc: Lifecycle): Promise<void> {
  const recs = d.store.all();
  const report = await d.runtime.reconcile(new Set(recs.map((r) => r.id)));
  const live = new Map<string, RuntimeState>(report.running.map((s) => [s.id, s]));
  const dead = new Map<string, RuntimeState>(report.exited.map((s) => [s.id, s]));
  if (report.cleaned.length) d.log.info('reconcile removed leftovers', { cleaned: report.cleaned });
  for (const rec of recs) {
    const l = live.get(rec.id);
    if (l) {
      for (const m of rec.mounts) if (m.type === 'volume') d.volumes.adopt(m.name!);
      await lc.adoptLive(rec, l.status === 'paused', l.pid);
      continue;
    }
    const wasActive = isRunning(rec.state) || rec.state.status === Status.Restarting;
    if (!wasActive) continue;
    const ex = dead.get(rec.id)?.exit;
    await lc.states.adopt(rec, Status.Exited, {
      pid: 0,
      exitCode: ex?.exitCode ?? 255,
      oomKilled: ex?.oomKilled ?? false,
      finishedAt: (ex?.finishedAt ?? new Date()).toISOString(),
      error: ex ? (ex.error ?? '') : 'the container was lost while berthd was down',
    });
    await d.runtime.delete(rec.id).catch(() => undefined);
    await d.network.tearDown(rec.id).catch(() => undefined);
    d.events.publish('container', 'die', rec.id, lc.attrs(rec, { exitCode: String(rec.state.exitCode) }));
  }
  await d.network.reconcile(new Set(recs.map((r) => r.id)), new Set(live.keys()));
  for (const rec of d.store.all()) {
    if (rec.state.status !== Status.Exited) continue;
    if (rec.hostConfig.AutoRemove && rec.state.hasBeenStarted) {
      await lc.autoRemove(rec);
      continue;
    }
    const restart = shouldRestartOnBoot({
      policy: rec.hostConfig.RestartPolicy,
      exitCode: rec.state.exitCode,
      manuallyStopped: rec.state.manuallyStopped,
      restartCount: rec.restartCount,
    });
    if (restart)
      lc.start(rec.id).catch((err: Error) =>
        d.log.warn('restart on boot failed', { id: rec.id, err: err.message }),
      );
  }
}

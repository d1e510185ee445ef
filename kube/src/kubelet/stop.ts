/**
 * Stopping a container as the kubelet's killContainer: the preStop hook within the grace period, then the engine's
 * stop (the image's stop signal, SIGKILL when the rest of the grace period is over). Grace is at least 2 s, as the
 * kubelet's minimumGracePeriodInSeconds, except an explicit 0 (force).
 */
import type { ContainerInspect } from '@berth/common/api/containers';
import type { EngineClient } from './engine/client.js';
import { isEngineError } from './engine/http.js';
import { ANN_GRACE_PERIOD, ANN_PRESTOP, annotation } from './naming.js';
import { runHandler, type Handler } from './probes.js';
import type { Container, Pod } from './types.js';

export interface StopRequest {
  engine: EngineClient;
  info: ContainerInspect;
  pod?: Pod;
  container?: Container;
  podIP: string;
  gracePeriodSeconds?: number;
  /** Called when the preStop hook fails (FailedPreStopHook). */
  onHookFailure?: (message: string) => void;
}

export function gracePeriod(r: Pick<StopRequest, 'info' | 'pod' | 'gracePeriodSeconds'>): number {
  let g = r.gracePeriodSeconds;
  g ??= r.pod?.spec?.terminationGracePeriodSeconds;
  g ??= Number(annotation(r.info.Config.Labels, ANN_GRACE_PERIOD) ?? 30);
  if (!Number.isFinite(g) || g < 0) g = 30;
  return g === 0 ? 0 : Math.max(2, g);
}

export async function stopContainer(r: StopRequest): Promise<void> {
  if (!r.info.State.Running) return;
  let grace = gracePeriod(r);
  const preStop: Handler | undefined =
    r.container?.lifecycle?.preStop ??
    (() => {
      const a = annotation(r.info.Config.Labels, ANN_PRESTOP);
      return a ? (JSON.parse(a) as Handler) : undefined;
    })();
  if (preStop && grace > 0) {
    const started = Date.now();
    const res = await Promise.race([
      runHandler(
        preStop,
        { engine: r.engine, containerId: r.info.Id, container: r.container ?? { name: '' }, podIP: r.podIP },
        grace,
      ),
      new Promise<undefined>((res) => setTimeout(() => res(undefined), grace * 1000)),
    ]);
    if (res?.result === 'failure') r.onHookFailure?.(res.output);
    grace = Math.max(2, grace - Math.ceil((Date.now() - started) / 1000));
  }
  try {
    await r.engine.containerStop(r.info.Id, grace);
  } catch (err) {
    // Already gone or already stopped: the goal is reached.
    if (!isEngineError(err, 404) && !isEngineError(err, 304)) throw err;
  }
}

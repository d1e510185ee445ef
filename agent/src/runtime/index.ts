/** Runtime factory: detects cgroups, finds the native helper, prepares the state root. */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DEFAULTS, type DaemonConfig } from '../config.js';
import { createCgroupDriver } from '../cgroups/detect.js';
import { createLogger, type Logger } from '../log.js';
import { hostSys, type Sys } from '../sys/sys.js';
import { shimBinary } from './native.js';
import { LinuxRuntime } from './runtime.js';
import type { Runtime, RuntimeOptions } from './types.js';

/**
 * Runtime options for a daemon. The default daemon uses cgroup parent 'berth' and /run/berth/runtime; any
 * other data root (tests, parallel daemons) gets names derived from it, so daemons never share cgroups or
 * shim sockets unless told to. Paths stay short: unix socket paths are limited to 108 bytes.
 */
export function runtimeOptionsFor(
  config: Pick<DaemonConfig, 'dataRoot' | 'cgroupParent' | 'execRoot'>,
): RuntimeOptions {
  const isDefault = path.resolve(config.dataRoot) === DEFAULTS.dataRoot;
  const tag = createHash('sha256').update(path.resolve(config.dataRoot)).digest('hex').slice(0, 10);
  return {
    stateRoot: config.execRoot ?? (isDefault ? '/run/berth/runtime' : `/run/berth/rt-${tag}`),
    cgroupParent: config.cgroupParent ?? (isDefault ? 'berth' : `berth-${tag}`),
  };
}

export async function createRuntime(
  opts: RuntimeOptions,
  deps: { sys?: Sys; log?: Logger; shimPath?: string } = {},
): Promise<Runtime> {
  const sys = deps.sys ?? hostSys;
  await fsp.mkdir(opts.stateRoot, { recursive: true, mode: 0o700 });
  return new LinuxRuntime({
    sys,
    cgroups: await createCgroupDriver(sys),
    shimPath: deps.shimPath ?? shimBinary(),
    stateRoot: opts.stateRoot,
    cgroupParent: opts.cgroupParent,
    log: deps.log ?? createLogger({ component: 'runtime' }),
  });
}

export * from './types.js';

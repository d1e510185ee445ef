/** Runtime factory: detects cgroups, finds the native helper, prepares the state root. */
import { promises as fsp } from 'node:fs';
import { createCgroupDriver } from '../cgroups/detect.js';
import { createLogger, type Logger } from '../log.js';
import { hostSys, type Sys } from '../sys/sys.js';
import { shimBinary } from './native.js';
import { LinuxRuntime } from './runtime.js';
import type { Runtime, RuntimeOptions } from './types.js';

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

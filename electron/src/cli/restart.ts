/** `berth restart`: stop then start. */
import { stopKubeProcess } from '../kube/actions.js';
import { loadKubeSettings } from '../kube/settings.js';
import type { CliCommand } from './command.js';
import {
  describe,
  flags,
  openManager,
  positiveInt,
  progress,
  REGISTRY_FLAGS,
  REGISTRY_HELP,
  saveRegistryFlags,
} from './vm-common.js';

export const command: CliCommand = {
  summary: 'Restart the engine and the VM',
  async run(argv) {
    const { values } = flags(argv, { timeout: { type: 'string', short: 't' }, ...REGISTRY_FLAGS });
    if (values.help) {
      process.stdout.write(
        `Usage: berth restart [OPTIONS]\n\nOptions:\n  -t SECONDS          Graceful stop timeout (default 30)\n${REGISTRY_HELP}`,
      );
      return 0;
    }
    await saveRegistryFlags(values);
    const m = await openManager();
    const timeoutMs = (positiveInt('--timeout', values.timeout) ?? 30) * 1000;
    await stopKubeProcess(m.paths, timeoutMs, progress);
    const s = await m.restart(progress, timeoutMs);
    process.stdout.write(describe(s));
    if ((await loadKubeSettings(m.paths)).enabled) {
      const { enableKube } = await import('../kube/actions.js');
      await enableKube(m.paths, {}, progress);
    }
    return 0;
  },
};

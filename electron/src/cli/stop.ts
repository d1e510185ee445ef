/** `berth stop`: stop containers and the VM gracefully, hard after a timeout. */
import { stopKubeProcess } from '../kube/actions.js';
import type { CliCommand } from './command.js';
import { flags, openManager, positiveInt, progress } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Stop the engine and the VM (graceful, then hard after --timeout)',
  async run(argv) {
    const { values } = flags(argv, { timeout: { type: 'string', short: 't' } });
    if (values.help) {
      process.stdout.write(
        'Usage: berth stop [-t SECONDS]\n\nStops containers and the VM; after SECONDS (default 30) the VM is stopped hard.\n',
      );
      return 0;
    }
    const timeout = positiveInt('--timeout', values.timeout) ?? 30;
    const m = await openManager();
    // berth-kube first, so it does not see its engine vanish; it stays enabled for the next start.
    await stopKubeProcess(m.paths, timeout * 1000, progress);
    await m.stop(progress, timeout * 1000);
    process.stderr.write('Berth is stopped.\n');
    return 0;
  },
};

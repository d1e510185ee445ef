/** `berth restart`: stop then start. */
import type { CliCommand } from './command.js';
import { describe, flags, openManager, positiveInt, progress } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Restart the engine and the VM',
  async run(argv) {
    const { values } = flags(argv, { timeout: { type: 'string', short: 't' } });
    if (values.help) {
      process.stdout.write('Usage: berth restart [-t SECONDS]\n');
      return 0;
    }
    const m = await openManager();
    process.stdout.write(
      describe(await m.restart(progress, (positiveInt('--timeout', values.timeout) ?? 30) * 1000)),
    );
    return 0;
  },
};

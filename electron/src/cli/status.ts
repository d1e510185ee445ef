/** `berth status [--json]`: is the engine running, where, on which driver; exit 0 running, 3 otherwise. */
import type { CliCommand } from './command.js';
import { describe, flags, openManager } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Show whether the engine runs (--json for scripts)',
  async run(argv) {
    const { values } = flags(argv, { json: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(
        'Usage: berth status [--json]\n\nExit status: 0 when the engine answers, 3 otherwise.\n',
      );
      return 0;
    }
    const s = await (await openManager()).status();
    process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : describe(s));
    return s.state === 'running' ? 0 : 3;
  },
};

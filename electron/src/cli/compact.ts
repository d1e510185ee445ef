/** `berth compact`: give the data disk's unused space back to the host. */
import type { CliCommand } from './command.js';
import { flags, openManager, progress } from './vm-common.js';

export const command: CliCommand = {
  summary: "Give the VM data disk's unused space back to the host",
  async run(argv) {
    const { values } = flags(argv, {});
    if (values.help) {
      process.stdout.write(
        'Usage: berth compact\n\nRunning: trims free space inside the VM. Stopped: rewrites the disk file without unused blocks.\n',
      );
      return 0;
    }
    process.stdout.write((await (await openManager()).compact(progress)) + '\n');
    return 0;
  },
};

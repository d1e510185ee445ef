/** `berth reset`: factory reset (confirmed): deletes the VM, its data disk and everything in it. */
import { createInterface } from 'node:readline/promises';
import { CliUsageError, type CliCommand } from './command.js';
import { flags, openManager, progress } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Factory reset: delete the VM with all containers, images and volumes',
  async run(argv) {
    const { values } = flags(argv, { force: { type: 'boolean', short: 'f' } });
    if (values.help) {
      process.stdout.write(
        'Usage: berth reset [--force]\n\nDeletes the VM and its data disk: all containers, images and volumes. Asks first unless --force.\n',
      );
      return 0;
    }
    if (!values.force) {
      if (!process.stdin.isTTY)
        throw new CliUsageError('this deletes all containers, images and volumes; confirm with --force');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(
        'This deletes the VM with all containers, images and volumes. Type "reset" to confirm: ',
      );
      rl.close();
      if (answer.trim() !== 'reset') {
        process.stderr.write('Not reset.\n');
        return 1;
      }
    }
    await (await openManager()).reset(progress);
    process.stderr.write('Berth was reset; `berth start` creates a new VM.\n');
    return 0;
  },
};

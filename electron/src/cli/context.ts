/** `berth context`: (re)create the docker context "berth" pointing at the host socket. */
import { ensureDockerContext } from '../tunnel/context.js';
import { berthPaths } from '../vm/paths.js';
import type { CliCommand } from './command.js';
import { flags } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Create or update the docker context "berth"',
  async run(argv) {
    const { values } = flags(argv, {});
    if (values.help) {
      process.stdout.write('Usage: berth context\n');
      return 0;
    }
    const r = await ensureDockerContext(berthPaths().socket);
    (r.ok ? process.stdout : process.stderr).write(r.message + '\n');
    return r.ok ? 0 : 1;
  },
};

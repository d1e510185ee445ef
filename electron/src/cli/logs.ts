/** `berth logs [console|engine|TOPIC]`: the VM's serial console, berthd's log, or one of Berth's own (~/.berth/logs). */
import { LOG_TOPICS, type LogTopic } from '../log/topics.js';
import { connectOnce, exec } from '../tunnel/ssh.js';
import { CliUsageError, type CliCommand } from './command.js';
import { flags, openManager, positiveInt } from './vm-common.js';

export const command: CliCommand = {
  summary: 'Show the VM console, engine, tunnel or another Berth log',
  async run(argv) {
    const { values, positionals } = flags(argv, { lines: { type: 'string', short: 'n' } }, true);
    if (values.help) {
      process.stdout.write(
        `Usage: berth logs [console|engine|${LOG_TOPICS.join('|')}] [-n LINES]\n\nDefault: engine.\n`,
      );
      return 0;
    }
    const which = positionals[0] ?? 'engine';
    const topic = (LOG_TOPICS as readonly string[]).includes(which) ? (which as LogTopic) : undefined;
    if (which !== 'console' && which !== 'engine' && !topic)
      throw new CliUsageError(`unknown log "${which}": use console, engine, ${LOG_TOPICS.join(', ')}`);
    const lines = positiveInt('--lines', values.lines) ?? 200;
    const m = await openManager();
    if (topic === 'kube' && m.driver.runsVm) {
      // berth-kube runs in the VM beside berthd: its log is there.
      const { openRunner } = await import('../kube/runner.js');
      const text = await (await openRunner(m.paths)).logTail(lines);
      process.stdout.write(text + (text ? '\n' : ''));
      return 0;
    }
    const local = await m.logs(topic ?? (which as 'console' | 'engine'), lines);
    if (local.file) {
      process.stdout.write(local.text + (local.text ? '\n' : ''));
      return 0;
    }
    // The engine log of a VM lives inside it.
    const target = await m.driver.shell();
    if (target.kind !== 'ssh')
      throw new Error(`the ${m.driver.kind} driver keeps no ${which} log Berth can read`);
    const c = await connectOnce(target.endpoint);
    try {
      const r = await exec(c, `tail -n ${lines} /run/berth/berthd.log`);
      process.stdout.write(r.stdout);
      return r.code;
    } finally {
      c.end();
    }
  },
};

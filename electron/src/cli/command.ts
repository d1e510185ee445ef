/** What every `berth <cmd>` module exports; the dispatcher (index.ts) loads it on demand. */
export interface CliCommand {
  /** One line for `berth --help`. */
  summary: string;
  /** Runs the command; resolves to the process exit code (long-running commands resolve when stopped). */
  run(argv: string[]): Promise<number>;
}

/** Usage mistakes print the message and exit 2, without a stack trace. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

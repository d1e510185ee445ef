/**
 * The classic builder's output stream: "Step N/M : ...", " ---> ...", RUN output, aux {ID} and the final
 * lines, as newline-delimited JSON. Nothing is sent until the first line, so errors found before any output
 * (a Dockerfile syntax error, a bad parameter) can still be answered with a plain HTTP error, as dockerd does.
 * With -q everything is held back: only the image id is printed, or the held lines and the error on failure.
 */
import type { ProgressMessage } from '@berth/common';

export interface OutputSink {
  write(m: ProgressMessage): void;
  /** true once something went out to the client */
  readonly started: boolean;
}

export class BuildOutput {
  private held: ProgressMessage[] = [];

  constructor(
    private readonly sink: OutputSink,
    readonly quiet: boolean,
  ) {}

  private emit(m: ProgressMessage): void {
    if (this.quiet) this.held.push(m);
    else this.sink.write(m);
  }

  text(s: string): void {
    this.emit({ stream: s });
  }

  line(s: string): void {
    this.emit({ stream: s + '\n' });
  }

  progress(m: ProgressMessage): void {
    this.emit(m);
  }

  /** Container output: stderr in red, as dockerd's classic builder shows it. */
  containerOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const s = chunk.toString('utf8');
    this.emit({ stream: stream === 'stderr' ? `\u001b[91m${s}\u001b[0m` : s });
  }

  aux(id: string): void {
    this.emit({ aux: { ID: id } });
  }

  /** Success: with -q, the id is the only line. */
  finish(id: string): void {
    if (this.quiet) this.sink.write({ stream: id + '\n' });
  }

  /** Failure inside the stream: `{"errorDetail":{...},"error":"..."}`. */
  error(message: string, code?: number): void {
    if (this.quiet) for (const m of this.held) this.sink.write(m);
    this.held = [];
    this.sink.write({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
  }

  get started(): boolean {
    return this.sink.started;
  }
}

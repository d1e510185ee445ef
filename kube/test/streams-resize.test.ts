/** Terminal resizes of an exec or attach session reach the runtime one at a time, in the order the client sent them. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runCommand, TerminalSizes } from '../src/apiserver/streams/remotecommand.js';
import type { StreamSession } from '../src/kubelet/provider.js';

describe('terminal resizes of a session', () => {
  it('applies kubectl attach size+1 then size in that order even when the first call is the slower', async () => {
    const resizeStream = new PassThrough();
    const stdout = new PassThrough();
    const applied: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let finish!: (code: number) => void;
    const session: StreamSession = {
      stdin: undefined,
      stdout,
      stderr: undefined,
      // the first call is slow, as an engine call that waits on a busy shim: a concurrent second would land first
      resize: async (w, h) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, applied.length === 0 ? 60 : 1));
        applied.push(`${h}x${w}`);
        inFlight--;
      },
      exitCode: new Promise((r) => (finish = r)),
      close: () => undefined,
    };
    let status = '';
    const done = runCommand(
      session,
      {
        sizes: new TerminalSizes(resizeStream),
        status: (s) => {
          status = s.kind;
          return Promise.resolve();
        },
        close: () => undefined,
        onClose: () => undefined,
      },
      { kind: 'attach', cmd: [] },
    );
    resizeStream.write('{"Width":112,"Height":34}{"Width":111,"Height":33}');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(applied, ['34x112', '33x111'], 'the client size is the last one applied');
    assert.equal(maxInFlight, 1, 'one resize at a time');
    stdout.end();
    finish(0);
    await done;
    assert.equal(status, 'success');
  });
});

/**
 * Interactive execs as a terminal client (the dashboard, dockerode) uses them: the TTY is sized at start
 * (ConsoleSize), a client that goes away without detaching hangs the terminal up so its shell ends (no
 * orphaned shells), and detaching with the detach keys leaves the process running, as dockerd does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedRegistry } from '../fixtures/seed.js';
import { dockerode } from '../helpers/clients.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { IS_ROOT, requirement } from '../helpers/env.js';

const skip = requirement(IS_ROOT, 'containers need root');

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('exec with a terminal', { skip }, () => {
  let d: TestDaemon;
  const name = 'term-host';

  /** The command lines of the container's processes, as `docker top` shows them. */
  const top = async () => {
    const r = await d.docker(['top', name, '-eo', 'pid,args']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').slice(1);
  };

  /** Starts `sh` in a TTY exec over a hijacked connection, with the given console size; returns its output. */
  async function shell(size?: [number, number], detachKeys?: string) {
    const c = dockerode(d).getContainer(name);
    const exec = await c.exec({
      Cmd: ['/bin/sh'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      ...(detachKeys ? { DetachKeys: detachKeys } : {}),
    });
    const stream = await exec.start({
      hijack: true,
      stdin: true,
      Tty: true,
      ...(size ? { ConsoleSize: size } : {}),
    });
    let out = '';
    stream.on('data', (b: Buffer) => (out += b.toString()));
    stream.on('error', () => undefined);
    const until = (re: RegExp) =>
      waitFor(`${re} in ${JSON.stringify(out)}`, async () => re.exec(out) ?? undefined);
    return { exec, stream, until, output: () => out };
  }

  before(async () => {
    d = await startTestDaemon();
    const ref = (await seedRegistry()).ref('busybox:latest');
    assert.equal((await d.docker(['pull', ref])).code, 0);
    const r = await d.docker(['run', '-d', '--name', name, ref, 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.destroy();
  });

  test('ConsoleSize sizes the TTY before the shell starts', async () => {
    const s = await shell([37, 123]);
    s.stream.write('stty size; echo done-$((1+1))\n');
    const m = await s.until(/(\d+) (\d+)\r?\ndone-2/);
    assert.deepEqual([m[1], m[2]], ['37', '123']);
    s.stream.write('exit\n');
    await waitFor('exec exit', async () => ((await s.exec.inspect()).Running ? undefined : true));
  });

  test('closing the connection hangs the terminal up: the shell and its foreground job end', async () => {
    const s = await shell();
    // A foreground job too: a hangup reaches the terminal's foreground process group, not only the shell.
    s.stream.write('echo ready; sleep 777\n');
    await s.until(/ready/);
    await waitFor('sleep 777 running', async () =>
      (await top()).some((l) => l.includes('sleep 777')) ? true : undefined,
    );
    const pid = (await s.exec.inspect()).Pid;
    assert.ok(pid > 0);
    s.stream.destroy();
    const left = await waitFor('the shell to end', async () => {
      const procs = await top();
      return procs.some((l) => /\/bin\/sh|sleep 777/.test(l)) ? undefined : procs;
    });
    assert.equal(left.length, 1, `only the container's own process is left: ${left.join(' | ')}`);
    const ins = await s.exec.inspect();
    assert.equal(ins.Running, false);
    assert.equal(ins.ExitCode, 129, 'the shell died of SIGHUP');
  });

  test('detaching with the detach keys leaves the shell running, as dockerd does', async () => {
    const s = await shell(undefined, 'ctrl-x,x');
    s.stream.write('echo attached\n');
    await s.until(/attached/);
    const closed = new Promise<void>((r) => s.stream.once('close', () => r()));
    s.stream.write(Buffer.from([0x18, 0x78]));
    await closed;
    await new Promise((r) => setTimeout(r, 500));
    const ins = await s.exec.inspect();
    assert.equal(ins.Running, true, 'a detached shell keeps running');
    assert.ok((await top()).some((l) => l.includes('/bin/sh')));
    process.kill(ins.Pid, 'SIGKILL');
  });
});

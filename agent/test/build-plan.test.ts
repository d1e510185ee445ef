/** Build planning (target, skipped stages, step count, meta ARGs) and config-only steps' history texts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BuildOptions } from '@berth/common';
import { parseStages } from '../src/image-builder/dockerfile/instructions.js';
import { applyMeta, goDuration, nopCreatedBy, runCommandLine } from '../src/image-builder/meta-steps.js';
import { planBuild } from '../src/image-builder/plan.js';

const opts = (o: Partial<BuildOptions> = {}): BuildOptions => ({
  dockerfile: 'Dockerfile',
  tags: [],
  buildArgs: {},
  target: '',
  labels: {},
  noCache: false,
  pull: false,
  rm: true,
  forceRm: false,
  networkMode: '',
  platform: '',
  quiet: false,
  cacheFrom: [],
  runHostConfig: {},
  ...o,
});

const DF = `ARG V=1
FROM scratch AS a
LABEL a=1
FROM scratch AS unused
LABEL u=1
FROM a AS b
COPY --from=a /x /y
FROM scratch
COPY --from=b /y /z
`;

describe('build plan', () => {
  it('keeps only the stages the target needs and counts steps', () => {
    const p = planBuild(DF, opts());
    assert.deepEqual(
      p.stages.map((s) => s.name ?? String(s.index)),
      ['a', 'b', '3'],
    );
    assert.equal(p.totalSteps, 1 + 2 + 2 + 2);
    const t = planBuild(DF, opts({ target: 'b', labels: { x: 'y', a: 'two words' } }));
    assert.deepEqual(
      t.stages.map((s) => s.name),
      ['a', 'b'],
    );
    assert.equal(t.totalSteps, 1 + 2 + 2 + 2, 'one LABEL step per --label');
    assert.deepEqual(
      t.labelInstructions.map((l) => l.node.original),
      ['LABEL a=two words', 'LABEL x=y'],
    );
    assert.throws(() => planBuild(DF, opts({ target: 'zzz' })), /failed to reach build target zzz/);
  });
  it('applies --build-arg to meta ARGs', () => {
    assert.equal(planBuild(DF, opts()).metaVars.get('V'), '1');
    assert.equal(planBuild(DF, opts({ buildArgs: { V: '2' } })).metaVars.get('V'), '2');
  });
});

describe('config-only steps', () => {
  const step = (line: string, cfg = {}) => {
    const ins = parseStages(`FROM scratch\n${line}\n`).stages[0].instructions[0];
    return applyMeta(ins, cfg, ['/bin/sh', '-c'], (w) => w.replace(/^"|"$/g, ''))!;
  };
  it("writes dockerd's history texts", () => {
    assert.equal(step('ENV A=1 B=2').createdBy, '/bin/sh -c #(nop)  ENV A=1 B=2');
    assert.equal(step('EXPOSE 80/tcp 443').createdBy, '/bin/sh -c #(nop)  EXPOSE 443 80/tcp');
    assert.equal(step('VOLUME /a /b').createdBy, '/bin/sh -c #(nop)  VOLUME [/a /b]');
    assert.equal(step('CMD echo $A').createdBy, '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo $A"]');
    assert.equal(
      step('HEALTHCHECK --interval=5s CMD true').createdBy,
      '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" "0s" \'\\x00\'}',
    );
    assert.equal(nopCreatedBy(['/bin/sh', '-c'], 'WORKDIR /w', true), '/bin/sh -c #(nop) WORKDIR /w');
  });
  it('replaces ENV by key and drops an inherited CMD when ENTRYPOINT is set', () => {
    assert.deepEqual(step('ENV A=2', { Env: ['A=1', 'B=1'] }).config.Env, ['A=2', 'B=1']);
    assert.equal(step('ENTRYPOINT ["x"]', { Cmd: ['sh'] }).config.Cmd, null);
    assert.deepEqual(step('EXPOSE 8000-8002/udp').config.ExposedPorts, {
      '8000/udp': {},
      '8001/udp': {},
      '8002/udp': {},
    });
    assert.throws(() => step('EXPOSE 99999'), /Invalid range|Invalid containerPort/);
  });
  it('formats durations as Go does', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(1.5e9), '1.5s');
    assert.equal(goDuration(90e9), '1m30s');
    assert.equal(goDuration(3600e9), '1h0m0s');
    assert.equal(goDuration(5e8), '500ms');
  });
});

describe('X-Registry-Config', () => {
  it("picks the credentials of the base image's registry", async () => {
    const { credentialsFor } = await import('../src/image-builder/image-adapter.js');
    const header = Buffer.from(
      JSON.stringify({
        '127.0.0.1:5000': { username: 'u', password: 'p' },
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:secret').toString('base64') },
      }),
    ).toString('base64');
    assert.deepEqual(credentialsFor(header, '127.0.0.1:5000'), { username: 'u', password: 'p' });
    assert.equal(credentialsFor(header, 'docker.io')?.username, 'hub');
    assert.equal(credentialsFor(header, 'other:1'), undefined);
    assert.equal(credentialsFor('e30=', 'docker.io'), undefined);
  });
});

describe('RUN command lines', () => {
  const run = (text: string) => {
    const ins = parseStages(`FROM scratch\n${text}`).stages[0].instructions[0];
    assert.equal(ins.kind, 'run');
    return runCommandLine(ins, ['/bin/sh', '-c']);
  };
  it('covers shell, exec and heredoc forms', () => {
    assert.deepEqual(run('RUN echo $HOME'), ['/bin/sh', '-c', 'echo $HOME']);
    assert.deepEqual(run('RUN ["/bin/echo", "a b"]'), ['/bin/echo', 'a b']);
    assert.deepEqual(run('RUN <<EOF\necho a\necho b\nEOF\n'), ['/bin/sh', '-c', 'echo a\necho b\n']);
    assert.deepEqual(run('RUN cat <<EOF > /f\nhello\nEOF\n'), [
      '/bin/sh',
      '-c',
      'cat <<EOF > /f\nhello\nEOF',
    ]);
  });
});

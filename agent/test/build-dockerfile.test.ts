/** Dockerfile parsing (directives, continuations, flags, heredocs), instructions and substitution. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseStages } from '../src/image-builder/dockerfile/instructions.js';
import { parseDockerfile } from '../src/image-builder/dockerfile/parser.js';
import { processWord, splitWords, varsFromEnv } from '../src/image-builder/dockerfile/shell-words.js';

describe('Dockerfile parser', () => {
  it('joins continuations, skips comments inside them and keeps line numbers', () => {
    const p = parseDockerfile(
      '# a comment\nFROM busybox\n\nRUN echo a \\\n  # inner comment\n\n    b\nCMD ["x"]\n',
    );
    assert.equal(p.nodes.length, 3);
    const run = p.nodes[1];
    assert.equal(run.cmd, 'run');
    assert.equal(run.rest, 'echo a     b');
    assert.equal(run.startLine, 4);
    assert.equal(run.endLine, 7);
    assert.equal(p.nodes[2].startLine, 8);
  });

  it('honours the escape directive only at the top', () => {
    const p = parseDockerfile('# escape=`\nFROM x\nRUN a `\n b\n');
    assert.equal(p.escape, '`');
    assert.equal(p.nodes[1].rest, 'a  b');
    const late = parseDockerfile('FROM x\n# escape=`\nRUN a `\n');
    assert.equal(late.escape, '\\');
    assert.throws(() => parseDockerfile('# escape=x\nFROM a'), /invalid escape token 'x'/);
  });

  it('extracts leading flags', () => {
    const p = parseDockerfile('COPY --from=build --chown="1:2" a b\n');
    assert.deepEqual(p.nodes[0].flags, [
      { name: 'from', value: 'build' },
      { name: 'chown', value: '1:2' },
    ]);
    assert.equal(p.nodes[0].rest, 'a b');
  });

  it('reads heredoc bodies', () => {
    const p = parseDockerfile(
      'FROM x\nRUN <<EOF\necho hi\necho there\nEOF\nCOPY <<-"E1" /f\n\tline\n\tE1\nCMD x\n',
    );
    assert.equal(p.nodes[1].heredocs[0].content, 'echo hi\necho there\n');
    assert.equal(p.nodes[2].heredocs[0].content, 'line\n');
    assert.equal(p.nodes[2].heredocs[0].expand, false);
    assert.equal(p.nodes[3].cmd, 'cmd');
  });
});

describe('Dockerfile instructions', () => {
  it('groups stages and meta args', () => {
    const df = parseStages(
      'ARG V=1\nFROM busybox:${V} AS Base\nENV A=1 B="x y"\nENV C 3 4\nFROM base\nCOPY --from=base /a /b/\n',
    );
    assert.equal(df.metaArgs.length, 1);
    assert.equal(df.stages.length, 2);
    assert.equal(df.stages[0].name, 'base');
    const env = df.stages[0].instructions[0];
    assert.equal(env.kind, 'env');
    if (env.kind === 'env')
      assert.deepEqual(env.pairs, [
        { key: 'A', value: '1' },
        { key: 'B', value: '"x y"' },
      ]);
    const legacy = df.stages[0].instructions[1];
    if (legacy.kind === 'env') assert.deepEqual(legacy.pairs, [{ key: 'C', value: '3 4' }]);
    const copy = df.stages[1].instructions[0];
    assert.equal(copy.kind, 'copy');
    if (copy.kind === 'copy') {
      assert.equal(copy.from, 'base');
      assert.deepEqual(copy.sources, ['/a']);
      assert.equal(copy.dest, '/b/');
    }
  });

  it('reports syntax errors with their line number in dockerd wording', () => {
    assert.throws(() => parseStages('FROM busybox\nRUN true\nFOO bar\n'), {
      message: 'dockerfile parse error line 3: unknown instruction: FOO',
    });
    assert.throws(() => parseStages('FROM a\n\nCOPY --bogus=1 a b'), /line 3: Unknown flag: bogus/);
    assert.throws(() => parseStages('RUN x'), /line 1: no build stage in current context/);
    assert.throws(() => parseStages('FROM a b'), /FROM requires either one or three arguments/);
    assert.throws(() => parseStages('FROM a\nENV A'), /line 2: ENV must have two arguments/);
    assert.throws(() => parseStages('FROM a\nCOPY x'), /COPY requires at least two arguments/);
    assert.throws(() => parseStages('FROM a\nONBUILD FROM b'), /FROM isn't allowed as an ONBUILD trigger/);
    assert.throws(() => parseStages('FROM a\nRUN --mount=type=cache,target=/x true'), /requires BuildKit/);
    assert.throws(
      () => parseStages('FROM a\nSHELL /bin/sh'),
      /SHELL requires the arguments to be in JSON form/,
    );
  });

  it('parses exec and shell forms, HEALTHCHECK and durations', () => {
    const df = parseStages(
      'FROM a\nCMD ["echo", "hi"]\nENTRYPOINT echo [x\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f x\nHEALTHCHECK NONE\n',
    );
    const [cmd, ep, hc, none] = df.stages[0].instructions;
    if (cmd.kind === 'cmd') assert.deepEqual(cmd.command, { json: true, args: ['echo', 'hi'] });
    if (ep.kind === 'entrypoint') assert.deepEqual(ep.command, { json: false, text: 'echo [x' });
    if (hc.kind === 'healthcheck') {
      assert.equal(hc.health.interval, 5e9);
      assert.equal(hc.health.retries, 3);
      assert.deepEqual(hc.health.test, { json: false, text: 'curl -f x' });
    }
    if (none.kind === 'healthcheck') assert.equal(none.health.none, true);
    assert.equal(parseDuration('1m30s'), 90e9);
    assert.equal(parseDuration('1.5s'), 1.5e9);
    assert.throws(() => parseDuration('5'), /invalid duration/);
  });
});

describe('variable substitution', () => {
  const vars = varsFromEnv(['A=1', 'EMPTY=', 'B=two words']);
  it('expands $V, ${V} and modifiers', () => {
    assert.equal(processWord('$A-${A}-$NOPE-${NOPE}', vars), '1-1--');
    assert.equal(processWord('${NOPE:-x}|${EMPTY:-y}|${EMPTY-z}|${A:-w}', vars), 'x|y||1');
    assert.equal(processWord('${A:+set}|${EMPTY:+s}|${EMPTY+s}|${NOPE+s}', vars), 'set||s|');
    assert.throws(() => processWord('${NOPE:?must be set}', vars), /NOPE: must be set/);
    assert.throws(() => processWord('${A', vars), /missing '}'/);
  });
  it('handles quotes and escapes', () => {
    assert.equal(processWord('"$B" \'$A\' \\$A a\\ b', vars), 'two words $A $A a b');
    assert.equal(processWord('"a\\"b\\\\c\\d"', vars), 'a"b\\c\\d');
    assert.equal(processWord('`$A', vars, '`'), '$A');
    assert.equal(processWord('$', vars), '$');
    assert.equal(processWord('${A}${B:-x}x', vars), '1two wordsx');
  });
  it('splits words keeping quotes', () => {
    assert.deepEqual(splitWords('a=1 b="x y" c=\'p q\' d=e\\ f'), ['a=1', 'b="x y"', "c='p q'", 'd=e\\ f']);
  });
});

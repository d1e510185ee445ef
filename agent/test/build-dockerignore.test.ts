/** .dockerignore reading and matching: Go filepath.Match syntax, `**`, `!` exceptions, parent directories. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IgnoreMatcher, readIgnoreFile } from '../src/image-builder/context/dockerignore.js';

const m = (text: string) => new IgnoreMatcher(readIgnoreFile(text));

describe('.dockerignore', () => {
  it('reads comments, blanks, leading slashes and cleans paths', () => {
    assert.deepEqual(readIgnoreFile('# c\n\n  /a/b/  \n!./c/../d\n x/./y \n'), ['a/b', '!d', 'x/y']);
  });

  it('matches plain names, globs and parent directories', () => {
    const i = m('node_modules\n*.log\ndocs/?.md\n');
    assert.equal(i.excludes('node_modules'), true);
    assert.equal(i.excludes('node_modules/a/b.js'), true);
    assert.equal(i.excludes('a.log'), true);
    assert.equal(i.excludes('sub/a.log'), false, '* does not cross /');
    assert.equal(i.excludes('docs/a.md'), true);
    assert.equal(i.excludes('docs/ab.md'), false);
    assert.equal(i.excludes('src/x.ts'), false);
  });

  it('supports ** and ! exceptions in order', () => {
    const i = m('**/*.tmp\n!keep/**/*.tmp\ndist\n!dist/keep.txt\n');
    assert.equal(i.excludes('a.tmp'), true);
    assert.equal(i.excludes('x/y/z.tmp'), true);
    assert.equal(i.excludes('keep/a/b.tmp'), false);
    assert.equal(i.excludes('dist/x.js'), true);
    assert.equal(i.excludes('dist/keep.txt'), false);
    const all = m('*\n!src\n');
    assert.equal(all.excludes('README'), true);
    assert.equal(all.excludes('src/a.ts'), false);
    const tail = m('a/**\n');
    assert.equal(tail.excludes('a/b/c'), true);
    assert.equal(tail.excludes('ab'), false);
  });

  it('treats regexp characters literally and honours escapes and classes', () => {
    const i = m('a+b.(c)\nfile[0-9]\n\\*star\n');
    assert.equal(i.excludes('a+b.(c)'), true);
    assert.equal(i.excludes('aab.(c)'), false);
    assert.equal(i.excludes('file7'), true);
    assert.equal(i.excludes('filex'), false);
    assert.equal(i.excludes('*star'), true);
    assert.equal(i.excludes('xstar'), false);
  });
});

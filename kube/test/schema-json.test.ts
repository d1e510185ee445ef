/** The JSON reader that keeps duplicate keys and words syntax errors as Go's encoding/json does. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonSyntaxError, parseJson } from '../src/schema/json.js';

describe('parseJson', () => {
  it('reads what JSON.parse reads', () => {
    for (const text of [
      '{"a":1,"b":[true,false,null,-0.5e3,"x\\n\\u00e9\\ud83d\\ude00"],"c":{"d":{}}}',
      ' [ ] ',
      '"\\"\\\\\\/\\b\\f\\r\\t"',
      '0',
      '-12.5E-2',
      '{"__proto__":{"x":1}}',
    ]) {
      assert.deepEqual(parseJson(text).value, JSON.parse(text), text);
    }
    const v = parseJson('{"__proto__":{"x":1}}').value as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });

  it('keeps the members of objects with duplicate keys, in order, the last value winning', () => {
    const p = parseJson('{"a":1,"b":2,"a":3,"c":{"x":1}}');
    const v = p.value as Record<string, unknown>;
    assert.deepEqual(v, { a: 3, b: 2, c: { x: 1 } });
    assert.deepEqual(p.members.get(v), [
      ['a', 1],
      ['b', 2],
      ['a', 3],
      ['c', { x: 1 }],
    ]);
    assert.equal(p.members.get(v.c as object), undefined);
  });

  // Go's encoding/json wording, which kube-apiserver's decode errors embed.
  const errors: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['{"a":1', 'unexpected end of JSON input'],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['[1 2]', "invalid character '2' after array element"],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{"a":1}}', "invalid character '}' after top-level value"],
    ['tru', 'unexpected end of JSON input'],
    ['trUe', "invalid character 'U' in literal true (expecting 'u')"],
    ['"a\tb"', "invalid character '\\t' in string literal"],
    ['"\\x"', "invalid character 'x' in string escape code"],
    ['-a', "invalid character 'a' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
  ];
  for (const [text, message] of errors) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseJson(text),
        (e: unknown) => e instanceof JsonSyntaxError && e.message === message,
      );
    });
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiarString, formatReference, parseReference } from '../src/images/reference.js';
import { statusOf } from '../src/api/errors.js';

describe('image references', () => {
  it('normalizes like Docker', () => {
    const cases: [string, string, string][] = [
      ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['user/app:1.0', 'docker.io/user/app:1.0', 'user/app:1.0'],
      ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
      ['127.0.0.1:5000/a/b:t', '127.0.0.1:5000/a/b:t', '127.0.0.1:5000/a/b:t'],
      [
        'example.com:443/x@sha256:' + 'a'.repeat(64),
        'example.com:443/x@sha256:' + 'a'.repeat(64),
        'example.com:443/x@sha256:' + 'a'.repeat(64),
      ],
      [
        'busybox:1@sha256:' + 'b'.repeat(64),
        'docker.io/library/busybox:1@sha256:' + 'b'.repeat(64),
        'busybox:1@sha256:' + 'b'.repeat(64),
      ],
    ];
    for (const [input, full, fam] of cases) {
      const r = parseReference(input);
      assert.equal(formatReference(r), full, input);
      assert.equal(familiarString(r), fam, input);
    }
  });

  it('rejects malformed references with 400 and Docker wording', () => {
    for (const bad of [
      '',
      'UPPER',
      'a:b:c',
      'busybox:',
      'x@sha256:123',
      '-bad',
      'a//b',
      'busybox:tag with space',
      'host:99999999999999999999999/x/../y',
    ]) {
      assert.throws(
        () => parseReference(bad),
        (e: Error) => statusOf(e) === 400 && /invalid reference format|must be lowercase/.test(e.message),
        bad,
      );
    }
    assert.throws(() => parseReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
    assert.throws(() => parseReference('Busybox'), /repository name \(library\/Busybox\)|must be lowercase/);
  });
});

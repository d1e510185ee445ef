/** The registry client's connection errors: what dockerd says, and what to do where that is clear. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectError, request } from '../src/images/registry/http.js';

describe('registry client connection errors', () => {
  it('a registry answering plain HTTP to TLS is named as such, with the insecure-registry fix', async () => {
    const plain = http.createServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    const port = (plain.address() as AddressInfo).port;
    try {
      const err = await request(new URL(`https://127.0.0.1:${port}/v2/`)).then(
        () => assert.fail('a TLS request to a plain HTTP server cannot succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectError);
      assert.equal(
        err.message,
        `Get "https://127.0.0.1:${port}/v2/": http: server gave HTTP response to HTTPS client ` +
          `(the registry answered plain HTTP: add it as an insecure registry, --insecure-registry 127.0.0.1:${port}; ` +
          `with Berth's VM: berth start --insecure-registry 127.0.0.1:${port}, or Settings > Registries)`,
      );
      assert.doesNotMatch(err.message, /wrong version number|EPROTO/);
    } finally {
      plain.close();
    }
  });

  it('a refused connection keeps Go-style wording', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    await assert.rejects(
      request(new URL(`https://127.0.0.1:${port}/v2/`)),
      new RegExp(`dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`),
    );
  });
});

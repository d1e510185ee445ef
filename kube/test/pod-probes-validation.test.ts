/**
 * Probes and hooks on pod create, as kube-apiserver 1.32 defaults and refuses them: a probe without a handler or
 * with two, a negative period, liveness/startup successThreshold other than 1, readiness with a grace period, bad
 * ports, and probes on a plain init container; each a 422 with kube-apiserver's field paths and words.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/apiserver.js';

const NS = '/api/v1/namespaces/default';

describe('pod probes validation', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.stop());

  const create = (name: string, containers: object[], initContainers?: object[]) =>
    s.request('POST', `${NS}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { containers, ...(initContainers ? { initContainers } : {}) },
      },
    });
  const c = (extra: object) => ({ name: 'c', image: 'busybox', ...extra });
  const refused = async (name: string, containers: object[], initContainers?: object[]) => {
    const r = await create(name, containers, initContainers);
    assert.equal(r.status, 422, r.text);
    return r.json<{ message: string; details: { causes: { reason: string; field: string }[] } }>();
  };

  it('defaults a probe as kube-apiserver does', async () => {
    const r = await create('ok', [
      c({
        readinessProbe: { httpGet: { port: 8080 } },
        lifecycle: { preStop: { httpGet: { port: 'http' } } },
      }),
    ]);
    assert.equal(r.status, 201, r.text);
    const pod = r.json<{ spec: { containers: Record<string, Record<string, unknown>>[] } }>();
    assert.deepEqual(pod.spec.containers[0].readinessProbe, {
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it('refuses probes the kubelet could not run, in kube-apiserver words', async () => {
    assert.equal(
      (await refused('none', [c({ livenessProbe: { periodSeconds: 1 } })])).message,
      'Pod "none" is invalid: spec.containers[0].livenessProbe: Required value: must specify a handler type',
    );
    const two = await refused('two', [
      c({ readinessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } }),
    ]);
    assert.equal(
      two.message,
      'Pod "two" is invalid: spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type',
    );
    assert.deepEqual(
      two.details.causes.map((x) => x.reason),
      ['FieldValueForbidden'],
    );
    assert.equal(
      (
        await refused('many', [
          c({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2, periodSeconds: -1 } }),
        ])
      ).message,
      'Pod "many" is invalid: [spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0, spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1]',
    );
    assert.equal(
      (
        await refused('grace', [
          c({ readinessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 5 } }),
        ])
      ).message,
      'Pod "grace" is invalid: spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes',
    );
    assert.equal(
      (await refused('port', [c({ startupProbe: { tcpSocket: { port: 0 } } })])).message,
      'Pod "port" is invalid: spec.containers[0].startupProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive',
    );
    assert.equal(
      (await refused('cmd', [c({ lifecycle: { postStart: { exec: {} } } })])).message,
      'Pod "cmd" is invalid: spec.containers[0].lifecycle.postStart.exec.command: Required value',
    );
    assert.equal(
      (
        await refused(
          'init',
          [c({})],
          [{ name: 'i', image: 'busybox', livenessProbe: { exec: { command: ['true'] } } }],
        )
      ).message,
      'Pod "init" is invalid: spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
    );
    // A sidecar may have probes.
    const sidecar = await create(
      'sidecar',
      [c({})],
      [
        {
          name: 'i',
          image: 'busybox',
          restartPolicy: 'Always',
          startupProbe: { exec: { command: ['true'] } },
        },
      ],
    );
    assert.equal(sidecar.status, 201, sidecar.text);
  });
});

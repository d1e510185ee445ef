/** metrics.k8s.io usage and kubectl top's percents, as the Nodes and Pods views show them (quantities: kube/test/quantity). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { percentOf, usageByName } from '../src/stores/cluster-metrics.js';

describe('cluster metrics', () => {
  test("kubectl top's whole percents of allocatable", () => {
    assert.equal(percentOf(0.5, 2), 25);
    assert.equal(percentOf(1, 0), undefined);
    assert.equal(percentOf(NaN, 2), undefined);
  });

  test('node usage keyed by name; pods summed over containers, keyed namespace/name', () => {
    const m = usageByName([
      { metadata: { name: 'n1' }, usage: { cpu: '250m', memory: '1Gi' } },
      {
        metadata: { name: 'web', namespace: 'default' },
        containers: [
          { name: 'a', usage: { cpu: '100m', memory: '10Mi' } },
          { name: 'b', usage: { cpu: '50000000n', memory: '6Mi' } },
        ],
      },
    ]);
    assert.deepEqual(m.get('n1'), { cpu: 0.25, memory: 2 ** 30 });
    const web = m.get('default/web')!;
    assert.ok(Math.abs(web.cpu - 0.15) < 1e-12);
    assert.equal(web.memory, 16 * 2 ** 20);
  });
});

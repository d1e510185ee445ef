/** metrics.k8s.io quantities and kubectl top's figures, as the Nodes and Pods views print them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatCpu,
  formatMemory,
  parseQuantity,
  percentOf,
  usageByName,
} from '../src/stores/cluster-metrics.js';

describe('cluster metrics', () => {
  test('quantities: decimal and binary suffixes, exponents, fractions; garbage is NaN', () => {
    const cases: [string, number][] = [
      ['250m', 0.25],
      ['2', 2],
      ['1.5', 1.5],
      ['123456789n', 0.123456789],
      ['500u', 0.0005],
      ['128Mi', 128 * 2 ** 20],
      ['16302604Ki', 16302604 * 1024],
      ['2Gi', 2 * 2 ** 30],
      ['1k', 1000],
      ['1e3', 1000],
      ['1.5E-3', 0.0015],
      ['3G', 3e9],
      ['.5', 0.5],
    ];
    for (const [q, n] of cases) assert.ok(Math.abs(parseQuantity(q) - n) < 1e-12 * Math.max(1, n), q);
    for (const bad of ['', 'Mi', '1x', '1 Mi', '1KiB', 'abc'])
      assert.ok(Number.isNaN(parseQuantity(bad)), bad);
    assert.ok(Number.isNaN(parseQuantity(undefined)));
  });

  test("kubectl top's forms: millicores, Mi (Gi from 10 Gi), whole percents of allocatable", () => {
    assert.equal(formatCpu(0.123456789), '123m');
    assert.equal(formatCpu(2), '2000m');
    assert.equal(formatMemory(128 * 2 ** 20), '128Mi');
    assert.equal(formatMemory(15.55 * 2 ** 30), '15.6Gi');
    assert.equal(formatMemory(NaN), '—');
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

/**
 * resource.Quantity (common/quantity, the one parser berth-kube and the dashboard use): what kube-apiserver's
 * ParseQuantity accepts and refuses with which error, the canonical form it stores, the values the kubelet,
 * scheduler and admission compute with, and kubectl top's forms. Tables of cases read off apimachinery's scanner.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalQuantity,
  formatCpu,
  formatMemory,
  milliCpu,
  parseQuantity,
  quantityError,
  quantityOrNaN,
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
} from '@berth/common/quantity';

describe('Quantity', () => {
  const canonical: Array<[string, string]> = [
    ['0', '0'],
    ['0.5', '500m'],
    ['1.5', '1500m'],
    ['100m', '100m'],
    ['2000m', '2'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1000000', '1M'],
    ['100M', '100M'],
    ['0.1m', '1m'],
    ['1.0001', '1001m'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['512Ki', '512Ki'],
    ['1.5Ki', '1536'],
    ['100Ki', '100Ki'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['-1.5', '-1500m'],
    ['+3', '3'],
    ['10G', '10G'],
    ['0.000001', '1m'],
  ];
  for (const [input, want] of canonical)
    it(`${input} → ${want}`, () => assert.equal(canonicalQuantity(input), want));

  const errors: Array<[string, string | undefined]> = [
    ['lots', QUANTITY_FORMAT_ERROR],
    ['', QUANTITY_FORMAT_ERROR],
    ['1Zi', QUANTITY_FORMAT_ERROR],
    ['1kk', QUANTITY_SUFFIX_ERROR],
    ['1e', QUANTITY_SUFFIX_ERROR],
    ['1.2.3', QUANTITY_FORMAT_ERROR],
    ['250Mi', undefined],
    // Signs, fractions and suffixes apimachinery's scanner takes (an empty number is 0, "1." is 1).
    ['-1', undefined],
    ['+1.5Gi', undefined],
    ['.5', undefined],
    ['1.', undefined],
    ['1.G', undefined],
    ['.', undefined],
    ['-', undefined],
    ['Mi', undefined],
    ['1E', undefined],
    ['1Ei', undefined],
    ['1e+3', undefined],
    ['1E-3', undefined],
    ['1e1000', undefined],
    // Refused: what the scanner cannot read is the format error; a suffix it reads but does not know, the suffix one.
    [' 1', QUANTITY_FORMAT_ERROR],
    ['1 ', QUANTITY_FORMAT_ERROR],
    ['1 Mi', QUANTITY_FORMAT_ERROR],
    ['0x10', QUANTITY_FORMAT_ERROR],
    ['1,5', QUANTITY_FORMAT_ERROR],
    ['1e3Ki', QUANTITY_FORMAT_ERROR],
    ['1e3.5', QUANTITY_FORMAT_ERROR],
    ['1KiB', QUANTITY_FORMAT_ERROR],
    ['1K', QUANTITY_SUFFIX_ERROR],
    ['1mi', QUANTITY_SUFFIX_ERROR],
    ['1EE', QUANTITY_SUFFIX_ERROR],
    ['1Ki1', QUANTITY_SUFFIX_ERROR],
    ['+-1', QUANTITY_SUFFIX_ERROR],
    ['1e', QUANTITY_SUFFIX_ERROR],
  ];
  for (const [input, want] of errors)
    it(`parse ${JSON.stringify(input)}`, () => assert.equal(quantityError(input), want));

  it('values: every decimal and binary suffix, exponents, signs and fractions, rounded once', () => {
    const cases: [string | number, number][] = [
      ['123456789n', 0.123456789],
      ['500u', 0.0005],
      ['250m', 0.25],
      ['2', 2],
      ['1k', 1e3],
      ['3M', 3e6],
      ['3G', 3e9],
      ['2T', 2e12],
      ['2P', 2e15],
      ['2E', 2e18],
      ['1Ki', 1024],
      ['128Mi', 128 * 2 ** 20],
      ['2Gi', 2 * 2 ** 30],
      ['1Ti', 2 ** 40],
      ['1Pi', 2 ** 50],
      ['1Ei', 2 ** 60],
      ['16302604Ki', 16302604 * 1024],
      ['1.5Gi', 1.5 * 2 ** 30],
      ['1e3', 1000],
      ['1E+3', 1000],
      ['1.5E-3', 0.0015],
      ['1.1m', 0.0011],
      ['-1.5', -1.5],
      ['+2', 2],
      ['.5', 0.5],
      ['-', 0],
      [' 64Mi ', 64 * 2 ** 20],
      [7, 7],
    ];
    for (const [q, n] of cases) assert.equal(parseQuantity(q), n, String(q));
    assert.throws(() => parseQuantity('1K'), { message: `${QUANTITY_SUFFIX_ERROR}: 1K` });
    assert.throws(() => parseQuantity('lots'), { message: `${QUANTITY_FORMAT_ERROR}: lots` });
    for (const bad of [undefined, null, {}, '', '1x', '1 Mi', '1KiB', 'abc'])
      assert.ok(Number.isNaN(quantityOrNaN(bad)), JSON.stringify(bad) ?? 'undefined');
    assert.equal(quantityOrNaN('250m'), 0.25);
  });

  it("millicores rounded up as MilliValue; kubectl top's CPU and memory", () => {
    assert.equal(milliCpu('100m'), 100);
    assert.equal(milliCpu('0.1m'), 1);
    assert.equal(milliCpu('1.1m'), 2);
    assert.equal(milliCpu('1.5'), 1500);
    assert.equal(milliCpu(2), 2000);
    assert.equal(formatCpu(0.123456789), '123m');
    assert.equal(formatCpu(2), '2000m');
    assert.equal(formatCpu(NaN), '—');
    assert.equal(formatMemory(128 * 2 ** 20), '128Mi');
    assert.equal(formatMemory(15.55 * 2 ** 30), '15.6Gi');
    assert.equal(formatMemory(NaN), '—');
  });
});

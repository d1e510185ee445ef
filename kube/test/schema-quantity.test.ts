/** resource.Quantity: the grammar's errors and the canonical form kube-apiserver stores (table of cases). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalQuantity,
  quantityError,
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
} from '../src/schema/quantity.js';

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
  ];
  for (const [input, want] of errors)
    it(`parse ${JSON.stringify(input)}`, () => assert.equal(quantityError(input), want));
});

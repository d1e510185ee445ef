/** Indexed Jobs' per-index rules and their validation, as pkg/controller/job and pkg/apis/batch/validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, Pod } from '../src/controllers/framework/types.js';
import {
  failedIndexes,
  indexBackoffMs,
  lastFailedByIndex,
  matchSuccessPolicy,
  perIndexFailure,
  replacementAnnotations,
} from '../src/controllers/job/per-index.js';
import { formatIndexes } from '../src/controllers/job/util.js';
import { indexedJobErrors, indexesTotal } from '../src/registry/batch/job-indexes.js';

const FAIL = 'batch.kubernetes.io/job-index-failure-count';
const IGNORED = 'batch.kubernetes.io/job-index-ignored-failure-count';

const job = (spec: Record<string, unknown>, failed?: string): Job => ({
  metadata: { name: 'j', namespace: 'default' },
  spec: { completionMode: 'Indexed', completions: 4, template: {}, ...spec },
  status: failed === undefined ? {} : { failedIndexes: failed },
});

const pod = (ix: number, failures: number, exit: number, finishedAt = '2026-01-01T00:00:00Z'): Pod => ({
  metadata: {
    name: `p${ix}-${failures}`,
    annotations: { 'batch.kubernetes.io/job-completion-index': String(ix), [FAIL]: String(failures) },
    finalizers: ['batch.kubernetes.io/job-tracking'],
  },
  status: {
    phase: exit === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [
      {
        name: 'c',
        image: 'busybox',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: exit, finishedAt } },
      },
    ],
  },
});

describe('per-index back-off', () => {
  it('fails an index once a counted failure reaches backoffLimitPerIndex, or at once on FailIndex', () => {
    const j = job({
      backoffLimitPerIndex: 1,
      podFailurePolicy: {
        rules: [
          { action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } },
          { action: 'Ignore', onExitCodes: { operator: 'In', values: [7] } },
        ],
      },
    });
    const pods = [pod(0, 0, 1), pod(1, 0, 42), pod(2, 1, 7), pod(3, 1, 1)];
    assert.deepEqual([...failedIndexes(j, pods)].sort(), [1, 3]);
    // indexes already failed stay failed, even with their pods released
    assert.deepEqual([...failedIndexes(job({ backoffLimitPerIndex: 1 }, '2'), [])], [2]);
  });

  it('counts a replacement from the last failed pod of its index, ignored failures apart', () => {
    const j = job({
      backoffLimitPerIndex: 3,
      podFailurePolicy: { rules: [{ action: 'Ignore', onExitCodes: { operator: 'In', values: [7] } }] },
    });
    assert.deepEqual(replacementAnnotations(j, undefined), { [FAIL]: '0' });
    const first = pod(0, 0, 1, '2026-01-01T00:00:00Z');
    const second = pod(0, 1, 7, '2026-01-01T00:00:30Z');
    const last = lastFailedByIndex(j, [second, first], 0).get(0);
    assert.equal(last, second);
    assert.deepEqual(replacementAnnotations(j, last), { [FAIL]: '1', [IGNORED]: '1' });
    assert.deepEqual(replacementAnnotations(j, first), { [FAIL]: '1' });
  });

  it('waits 10 s doubling by the index failures since the last one finished', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(indexBackoffMs(undefined, t), 0);
    assert.equal(indexBackoffMs(pod(0, 0, 1), t + 4_000), 6_000);
    assert.equal(indexBackoffMs(pod(0, 2, 1), t + 4_000), 36_000);
    assert.equal(indexBackoffMs(pod(0, 0, 1), t + 60_000), 0);
  });

  it('fails the Job past maxFailedIndexes, or once every index has succeeded or failed', () => {
    const s = (...n: number[]) => new Set(n);
    assert.deepEqual(
      perIndexFailure(job({ maxFailedIndexes: 1 }), s(0, 1), s())?.[0],
      'MaxFailedIndexesExceeded',
    );
    assert.equal(perIndexFailure(job({ maxFailedIndexes: 2 }), s(0, 1), s(2)), undefined);
    assert.deepEqual(perIndexFailure(job({}), s(0), s(1, 2, 3)), ['FailedIndexes', 'Job has failed indexes']);
    assert.equal(perIndexFailure(job({}), s(), s(0, 1, 2, 3)), undefined);
  });
});

describe('success policy', () => {
  it('matches the first rule its indexes or count meet', () => {
    const j = job({
      completions: 10,
      successPolicy: {
        rules: [
          { succeededIndexes: '0-2,5', succeededCount: 3 },
          { succeededCount: 4 },
          { succeededIndexes: '9' },
        ],
      },
    });
    assert.equal(matchSuccessPolicy(j, new Set([0, 1])), undefined);
    assert.equal(matchSuccessPolicy(j, new Set([0, 1, 5])), 'Matched rules at index 0');
    assert.equal(matchSuccessPolicy(j, new Set([3, 4, 6, 7])), 'Matched rules at index 1');
    assert.equal(matchSuccessPolicy(j, new Set([9])), 'Matched rules at index 2');
    assert.equal(matchSuccessPolicy(job({}), new Set([0])), undefined);
  });
});

describe('index intervals', () => {
  it('writes runs of two as "a,b" and longer ones as "a-b", as orderedIntervals.String', () => {
    assert.equal(formatIndexes([5, 0, 1, 3, 7, 8, 9]), '0,1,3,5,7-9');
  });

  it("counts an interval list and says what is wrong in kube-apiserver's words", () => {
    assert.equal(indexesTotal('0-2,5', 10), 4);
    assert.equal(indexesTotal('', 10), 0);
    assert.equal(indexesTotal('3,1', 10), 'non-increasing order, previous: 3, current: 1');
    assert.equal(indexesTotal('2-1', 10), 'non-increasing order, previous: 2, current: 1');
    assert.equal(
      indexesTotal('1-2-3', 10),
      `the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'`,
    );
    assert.equal(indexesTotal('x', 10), 'cannot convert string to integer for index: "x"');
    assert.equal(indexesTotal('10', 10), 'too large index: "10"');
  });
});

describe('job spec validation of the per-index fields', () => {
  const texts = (spec: Record<string, unknown>) =>
    indexedJobErrors(spec, 'spec').map((e) => `${e.field} ${e.type} ${e.detail ?? ''}`);

  it('refuses per-index fields without Indexed, FailIndex without backoffLimitPerIndex, and bad limits', () => {
    assert.deepEqual(texts({ completionMode: 'NonIndexed', backoffLimitPerIndex: 1, maxFailedIndexes: 1 }), [
      'spec.backoffLimitPerIndex FieldValueInvalid requires indexed completion mode',
      'spec.maxFailedIndexes FieldValueInvalid requires indexed completion mode',
    ]);
    assert.deepEqual(texts({ completionMode: 'Indexed', completions: 2, maxFailedIndexes: 3 }), [
      'spec.backoffLimitPerIndex FieldValueRequired when maxFailedIndexes is specified',
      'spec.maxFailedIndexes FieldValueInvalid must be less than or equal to completions',
    ]);
    assert.deepEqual(
      texts({
        completionMode: 'Indexed',
        completions: 2,
        podFailurePolicy: { rules: [{ action: 'FailIndex' }, { action: '' }, { action: 'Retry' }] },
      }),
      [
        'spec.podFailurePolicy.rules[0].action FieldValueInvalid requires the backoffLimitPerIndex to be set',
        'spec.podFailurePolicy.rules[1].action FieldValueRequired valid values: ["Count" "FailIndex" "FailJob" "Ignore"]',
        'spec.podFailurePolicy.rules[2].action FieldValueNotSupported supported values: "Count", "FailIndex", "FailJob", "Ignore"',
      ],
    );
  });

  it('checks success policy rules against completions', () => {
    assert.deepEqual(texts({ completionMode: 'Indexed', completions: 3, successPolicy: { rules: [] } }), [
      'spec.successPolicy.rules FieldValueRequired at least one rules must be specified when the successPolicy is specified',
    ]);
    assert.deepEqual(
      texts({
        completionMode: 'Indexed',
        completions: 3,
        successPolicy: { rules: [{}, { succeededIndexes: '0-1', succeededCount: 3 }, { succeededCount: 4 }] },
      }),
      [
        'spec.successPolicy.rules[0] FieldValueRequired at least one of succeededCount or succeededIndexes must be specified',
        'spec.successPolicy.rules[1].succeededCount FieldValueInvalid must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)',
        'spec.successPolicy.rules[2].succeededCount FieldValueInvalid must be less than or equal to 3 (the number of specified completions)',
      ],
    );
  });
});

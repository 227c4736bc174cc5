import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalQuantity, compareQuantity, ERR_FORMAT_WRONG, ERR_NUMERIC, ERR_SUFFIX, roundUpToMilli } from './quantity.js';

describe('quantities', () => {
  test('are printed in upstream canonical form', () => {
    const cases: [string | number, string][] = [
      ['100m', '100m'],
      ['0.5', '500m'],
      [0.5, '500m'],
      ['1.5', '1500m'],
      ['1', '1'],
      [2, '2'],
      ['1000', '1k'],
      ['1000m', '1'],
      ['1500', '1500'],
      ['1024Mi', '1Gi'],
      ['1.5Gi', '1536Mi'],
      ['0.5Gi', '512Mi'],
      ['500Mi', '500Mi'],
      ['2000Mi', '2000Mi'],
      ['1Ki', '1Ki'],
      ['1.5Ki', '1536'],
      ['512', '512'],
      ['1e3', '1e3'],
      ['1.5e3', '1500'],
      ['129e6', '129e6'],
      ['10G', '10G'],
      ['0', '0'],
      // Precision is nano units: smaller values round up to 1n.
      ['0.1m', '100u'],
      ['0.0000000001', '1n'],
      ['-1', '-1'],
      ['-1Ki', '-1Ki'],
      ['+5', '5'],
      ['  3  ', '3'],
      [1e21, '1e21'],
    ];
    for (const [input, want] of cases) assert.deepEqual(canonicalQuantity(input), { value: want }, `canonical(${JSON.stringify(input)})`);
  });

  test('reject what ParseQuantity rejects, with its errors', () => {
    const cases: [string, string][] = [
      ['', ERR_FORMAT_WRONG],
      ['abc', ERR_FORMAT_WRONG],
      ['1.2.3', ERR_FORMAT_WRONG],
      ['1 Gi', ERR_FORMAT_WRONG],
      ['1Ki2', ERR_SUFFIX],
      ['1e', ERR_SUFFIX],
      ['1m3', ERR_SUFFIX],
      ['1Gb', ERR_FORMAT_WRONG],
      ['--1', ERR_SUFFIX],
    ];
    for (const [input, want] of cases) assert.deepEqual(canonicalQuantity(input), { error: want }, `parse(${JSON.stringify(input)})`);
    // Only the slow path parses the numeric part, so a bare dot fails only there.
    assert.deepEqual(canonicalQuantity('.Ki'), { value: '0' });
    assert.deepEqual(canonicalQuantity('.e-12'), { error: ERR_NUMERIC });
  });

  test('compare by value across formats', () => {
    assert.equal(compareQuantity('1Gi', '1024Mi'), 0);
    assert.equal(compareQuantity('1', '1000m'), 0);
    assert.equal(compareQuantity('500m', '1'), -1);
    assert.equal(compareQuantity('2', '1500m'), 1);
  });

  test('round up to milli units as core/v1 defaulting does', () => {
    assert.equal(roundUpToMilli('0.0001'), '1m');
    assert.equal(roundUpToMilli('100m'), '100m');
    assert.equal(roundUpToMilli('1.0005'), '1001m');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { Intervals, duplicatedIndexPodsForRemoval, firstPendingIndexes, generateNameWithIndex } from './indexes.js';

function pod(name: string, index?: number, extra: Partial<KubeObject> = {}): KubeObject {
  const annotations: Record<string, string> = index === undefined ? {} : { 'batch.kubernetes.io/job-completion-index': String(index) };
  return { metadata: { name, annotations, creationTimestamp: '2024-01-01T00:00:00Z' }, status: { phase: 'Pending' }, ...extra };
}

describe('completion indexes', () => {
  it('writes intervals as upstream: ranges of three or more, neighbours as a list', () => {
    assert.equal(new Intervals().withOrderedIndexes([1, 3, 4, 5]).toString(), '1,3-5');
    assert.equal(new Intervals().withOrderedIndexes([1, 2]).toString(), '1,2');
    assert.equal(new Intervals().withOrderedIndexes([0, 1, 2, 7]).toString(), '0-2,7');
    assert.equal(new Intervals().toString(), '');
  });

  it('parses the status form, merging neighbours and dropping indexes past completions', () => {
    const iv = Intervals.parse('1,2,4-6,9-12', 11);
    assert.equal(iv.toString(), '1,2,4-6,9,10');
    assert.equal(iv.total(), 7);
    assert.ok(iv.has(5) && iv.has(10) && !iv.has(3) && !iv.has(11));
    assert.equal(Intervals.parse('x,3', 10).toString(), '3');
    assert.equal(Intervals.parse('0-2', 10).withOrderedIndexes([3, 5]).toString(), '0-3,5');
    assert.equal(Intervals.parse('0,1', 10).merge(Intervals.parse('2,8', 10)).toString(), '0-2,8');
  });

  it('finds the first pending indexes past succeeded, active and failed ones', () => {
    const succeeded = Intervals.parse('0,2', 8);
    const active = [pod('a', 1), pod('b', 4)];
    assert.deepEqual(firstPendingIndexes(3, 8, succeeded, active, undefined, undefined), [3, 5, 6]);
    assert.deepEqual(firstPendingIndexes(10, 8, succeeded, active, undefined, Intervals.parse('5', 8)), [3, 6, 7]);
    assert.deepEqual(firstPendingIndexes(2, 8, succeeded, active, [pod('t', 3)], undefined), [5, 6]);
  });

  it('removes pods with no, out-of-range or repeated indexes, keeping the furthest along', () => {
    const running = pod('run', 1, { status: { phase: 'Running' }, spec: { nodeName: 'n' } });
    const pending = pod('pend', 1);
    const { remove, keep } = duplicatedIndexPodsForRemoval([pod('none'), running, pending, pod('two', 2), pod('far', 9)], 5);
    assert.deepEqual(remove.map((p) => p.metadata!.name).sort(), ['far', 'none', 'pend']);
    assert.deepEqual(keep.map((p) => p.metadata!.name).sort(), ['run', 'two']);
  });

  it('makes generate names <job>-<index>-, cut to leave room for the random suffix', () => {
    assert.equal(generateNameWithIndex('job', 3), 'job-3-');
    const long = 'a'.repeat(63);
    const name = generateNameWithIndex(long, 12);
    assert.equal(name.length, 58);
    assert.ok(name.endsWith('-12-'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, FitError, Status, defaultNormalizeScore, reasonHistogram } from './framework.js';

describe('scheduler framework', () => {
  it("formats FitError as upstream: counted reasons, sorted, with PostFilter's message", () => {
    const statuses = new Map<string, Status>([
      ['a', Status.unschedulable('Insufficient cpu')],
      ['b', Status.unschedulable('Insufficient cpu', 'Insufficient memory')],
      ['c', Status.unresolvable('node(s) had untolerated taint {dedicated: gpu}')],
    ]);
    const fit = new FitError(3, statuses, new Set());
    assert.equal(fit.message(), '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.');
    fit.postFilterMsg = 'preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    assert.equal(
      fit.message(),
      '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
  });

  it('reports a PreFilter rejection once instead of per node', () => {
    const s = Status.unresolvable('pod affinity terms conflict');
    const fit = new FitError(2, new Map([['a', s], ['b', s]]), new Set(['NodeAffinity']));
    fit.preFilterMsg = s.message();
    assert.equal(fit.message(), '0/2 nodes are available: pod affinity terms conflict.');
  });

  it('sorts the histogram as strings, as Go does', () => {
    const s = (r: string) => new Status(Code.Unschedulable, [r]);
    assert.equal(reasonHistogram([s('b'), s('a'), s('b'), ...Array(10).fill(s('c'))]), '1 a, 10 c, 2 b');
  });

  it('normalizes scores as DefaultNormalizeScore', () => {
    const scores = [0, 1, 3];
    defaultNormalizeScore(100, false, scores);
    assert.deepEqual(scores, [0, 33, 100]);
    const rev = [0, 1, 3];
    defaultNormalizeScore(100, true, rev);
    assert.deepEqual(rev, [100, 67, 0]);
    const zeros = [0, 0];
    defaultNormalizeScore(100, true, zeros);
    assert.deepEqual(zeros, [100, 100]);
  });
});

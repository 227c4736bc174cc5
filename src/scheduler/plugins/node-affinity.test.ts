import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, CycleState, SKIP, Status } from '../framework.js';
import { TestCluster, pending } from '../testing.js';
import { newNodeAffinity } from './node-affinity.js';

const na = newNodeAffinity();
const REASON = "node(s) didn't match Pod's node affinity/selector";

function required(...terms: unknown[]) {
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
}

describe('NodeAffinity', () => {
  const c = new TestCluster();
  const a = c.addNode('a', { labels: { zone: 'z1', disk: 'ssd', gen: '5' } });
  const b = c.addNode('b', { labels: { zone: 'z2', gen: '3' } });

  it('filters by nodeSelector', () => {
    const p = pending('p', { nodeSelector: { disk: 'ssd' } });
    assert.equal(na.filter(new CycleState(), p, a), null);
    const s = na.filter(new CycleState(), p, b);
    assert.deepEqual(s?.reasons, [REASON]);
    assert.equal(s?.code, Code.UnschedulableAndUnresolvable);
  });

  it('ORs terms and ANDs expressions, with every operator', () => {
    const st = new CycleState();
    const match = (aff: unknown) => [a, b].filter((n) => na.filter(st, pending('p', { affinity: aff }), n) === null).map((n) => n.name);
    assert.deepEqual(match(required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2', 'z3'] }] })), ['b']);
    assert.deepEqual(match(required({ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] })), ['b']);
    assert.deepEqual(match(required({ matchExpressions: [{ key: 'disk', operator: 'Exists' }, { key: 'zone', operator: 'NotIn', values: ['z1'] }] })), []);
    assert.deepEqual(match(required({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['3'] }] })), ['a']);
    assert.deepEqual(match(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] })), ['b']);
    // An empty term matches nothing; an invalid term matches nothing but the others still count.
    assert.deepEqual(match(required({})), []);
    assert.deepEqual(match(required({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['x'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] })), ['a']);
  });

  it('narrows filtering to the nodes pinned by matchFields, and skips pods without requirements', () => {
    const ds = pending('ds', { affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }) });
    const out = na.preFilter(new CycleState(), ds, c.handle) as { result: { nodeNames: Set<string> } };
    assert.deepEqual([...out.result.nodeNames], ['b']);
    assert.equal(na.preFilter(new CycleState(), pending('plain'), c.handle), SKIP);
    const conflict = pending('x', { affinity: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }, { key: 'metadata.name', operator: 'In', values: ['b'] }] }) });
    const s = na.preFilter(new CycleState(), conflict, c.handle) as Status;
    assert.deepEqual(s.reasons, ['pod affinity terms conflict']);
  });

  it('scores preferred terms by weight, normalized to 100', () => {
    const p = pending('p', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } },
            { weight: 30, preference: { matchExpressions: [{ key: 'gen', operator: 'Exists' }] } },
          ],
        },
      },
    });
    const st = new CycleState();
    assert.equal(na.preScore(st, p, [a, b], c.handle), null);
    const scores = [a, b].map((n) => na.score(st, p, n));
    assert.deepEqual(scores, [40, 30]);
    na.normalizeScore!(st, p, [a, b], scores);
    assert.deepEqual(scores, [100, 75]);
    assert.equal(na.preScore(new CycleState(), pending('q'), [a, b], c.handle), SKIP);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterEvent } from './framework.js';
import { nodeChangeEvents, numFeasibleNodesToFind } from './scheduler.js';
import { makeNode } from './testing.js';

describe('scheduler helpers', () => {
  it('looks for upstream’s adaptive share of feasible nodes', () => {
    assert.equal(numFeasibleNodesToFind(50), 50);
    assert.equal(numFeasibleNodesToFind(100), 100);
    // 50% - 1000/125 = 42%
    assert.equal(numFeasibleNodesToFind(1000), 420);
    // 50% - 40% = 10%
    assert.equal(numFeasibleNodesToFind(5000), 500);
    // never below 5%
    assert.equal(numFeasibleNodesToFind(20000), 1000);
    assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
    assert.equal(numFeasibleNodesToFind(1000, 1), 100);
  });

  it('tells which scheduling-relevant parts of a node changed, ignoring heartbeats', () => {
    const a = makeNode('n', { labels: { x: '1' } });
    const beat = { ...a, status: { ...a.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-01-01T00:00:10Z' }] } };
    assert.equal(nodeChangeEvents(a, beat), 0);
    const relabel = { ...a, metadata: { ...a.metadata, labels: { x: '2' } } };
    assert.equal(nodeChangeEvents(a, relabel), ClusterEvent.NodeUpdateLabel);
    const cordon = { ...a, spec: { unschedulable: true } };
    assert.equal(nodeChangeEvents(a, cordon), ClusterEvent.NodeUpdateTaint);
    const grown = makeNode('n', { labels: { x: '1' }, cpu: '64' });
    assert.equal(nodeChangeEvents(a, grown), ClusterEvent.NodeUpdateAllocatable);
    const notReady = { ...a, status: { ...a.status, conditions: [{ type: 'Ready', status: 'False' }] } };
    assert.equal(nodeChangeEvents(a, notReady), ClusterEvent.NodeUpdateCondition);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, CycleState, SKIP } from '../framework.js';
import { TestCluster, pending } from '../testing.js';
import { nodeName } from './node-name.js';
import { nodePorts } from './node-ports.js';
import { nodeUnschedulable } from './node-unschedulable.js';
import { newTaintToleration } from './taint-toleration.js';

const state = new CycleState();

describe('NodeName', () => {
  it('fits only the named node', () => {
    const c = new TestCluster();
    const a = c.addNode('a');
    const b = c.addNode('b');
    const p = pending('p', { extraSpec: { nodeName: 'a' } });
    assert.equal(nodeName.filter(state, p, a), null);
    assert.deepEqual(nodeName.filter(state, p, b)?.reasons, ["node(s) didn't match the requested node name"]);
    assert.equal(nodeName.filter(state, pending('q'), b), null);
  });
});

describe('NodeUnschedulable', () => {
  it('keeps pods off cordoned nodes unless they tolerate the unschedulable taint', () => {
    const c = new TestCluster();
    const n = c.addNode('n', { unschedulable: true });
    const s = nodeUnschedulable.filter(state, pending('p'), n);
    assert.deepEqual(s?.reasons, ['node(s) were unschedulable']);
    assert.equal(s?.code, Code.UnschedulableAndUnresolvable);
    const tolerant = pending('q', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.equal(nodeUnschedulable.filter(state, tolerant, n), null);
    assert.equal(nodeUnschedulable.filter(state, pending('p'), c.addNode('m')), null);
  });
});

describe('NodePorts', () => {
  it('rejects nodes where a pod holds the host port', () => {
    const c = new TestCluster();
    const n = c.addNode('n');
    c.addPod('n', 'a', { hostPorts: [8080] });
    const st = new CycleState();
    assert.equal(nodePorts.preFilter(st, pending('none'), c.handle), SKIP);
    assert.deepEqual(nodePorts.filter(st, pending('p', { hostPorts: [8080] }), n)?.reasons, ["node(s) didn't have free ports for the requested pod ports"]);
    assert.equal(nodePorts.filter(st, pending('p', { hostPorts: [9090] }), n), null);
    c.cache.removePod('default/a');
    assert.equal(nodePorts.filter(st, pending('p', { hostPorts: [8080] }), n), null);
  });
});

describe('TaintToleration', () => {
  const tt = newTaintToleration();

  it('rejects NoSchedule and NoExecute taints the pod does not tolerate, naming the taint', () => {
    const c = new TestCluster();
    const n = c.addNode('n', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'x', effect: 'NoExecute' }] });
    const s = tt.filter(state, pending('p'), n);
    assert.deepEqual(s?.reasons, ['node(s) had untolerated taint {dedicated: gpu}']);
    assert.equal(s?.code, Code.UnschedulableAndUnresolvable);
    const some = pending('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
    assert.deepEqual(tt.filter(state, some, n)?.reasons, ['node(s) had untolerated taint {x: }']);
    const all = pending('p', { tolerations: [{ key: 'dedicated', value: 'gpu' }, { operator: 'Exists', effect: 'NoExecute' }] });
    assert.equal(tt.filter(state, all, n), null);
    assert.notEqual(tt.filter(state, pending('p', { tolerations: [{ key: 'dedicated', value: 'cpu' }] }), n), null);
  });

  it('scores fewer untolerated PreferNoSchedule taints higher', () => {
    const c = new TestCluster();
    const nodes = [
      c.addNode('clean'),
      c.addNode('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }),
      c.addNode('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }),
    ];
    const st = new CycleState();
    const p = pending('p', { tolerations: [{ key: 'b', operator: 'Exists' }] });
    assert.equal(tt.preScore(st, p, nodes, c.handle), null);
    const scores = nodes.map((n) => tt.score(st, p, n));
    assert.deepEqual(scores, [0, 1, 1]);
    tt.normalizeScore!(st, p, nodes, scores);
    assert.deepEqual(scores, [100, 0, 0]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchedulerCache } from './cache.js';
import { newPodInfo } from './pod-info.js';
import { makeNode, makePod, pending } from './testing.js';

const ZONE = 'topology.kubernetes.io/zone';

describe('scheduler cache', () => {
  it('counts an assumed pod at once, and keeps counting it once the informer confirms it', () => {
    const c = new SchedulerCache();
    const n = c.setNode(makeNode('n1', { cpu: '4' }));
    const p = pending('p', { cpu: '1' });
    c.assumePod(p, 'n1');
    assert.equal(n.reqMilliCPU, 1000);
    assert.equal(c.isAssumed(p.key), true);
    c.finishBinding(p.key);
    const bound = newPodInfo({ ...p.pod, spec: { ...p.pod.spec, nodeName: 'n1' } });
    c.addPod(bound);
    assert.equal(c.isAssumed(p.key), false);
    assert.equal(n.reqMilliCPU, 1000);
    assert.equal(n.pods.length, 1);
    c.removePod(p.key);
    assert.equal(n.reqMilliCPU, 0);
  });

  it('forgets an assumed pod whose binding failed, and expires one the informer never confirms', () => {
    let now = 0;
    const c = new SchedulerCache({ assumedTTLms: 1000, now: () => now });
    const n = c.setNode(makeNode('n1'));
    const a = pending('a', { cpu: '1' });
    const b = pending('b', { cpu: '1' });
    c.assumePod(a, 'n1');
    c.assumePod(b, 'n1');
    c.forgetPod(a.key);
    assert.equal(n.reqMilliCPU, 1000);
    c.finishBinding(b.key);
    now = 500;
    assert.equal(c.cleanupAssumed(), 0);
    now = 1501;
    assert.equal(c.cleanupAssumed(), 1);
    assert.equal(n.reqMilliCPU, 0);
  });

  it('moves a pod the informer shows on another node than assumed', () => {
    const c = new SchedulerCache();
    const n1 = c.setNode(makeNode('n1'));
    const n2 = c.setNode(makeNode('n2'));
    const p = pending('p', { cpu: '1' });
    c.assumePod(p, 'n1');
    c.addPod(newPodInfo(makePod('p', { cpu: '1', nodeName: 'n2', uid: p.uid })));
    assert.equal(n1.reqMilliCPU, 0);
    assert.equal(n2.reqMilliCPU, 1000);
  });

  it('keeps pods of a deleted node counted until they go, and lists only nodes with a Node', () => {
    const c = new SchedulerCache();
    c.setNode(makeNode('n1'));
    c.addPod(newPodInfo(makePod('p', { cpu: '1', nodeName: 'n1' })));
    c.removeNode('n1');
    assert.equal(c.nodes().length, 0);
    assert.equal(c.nodeInfo('n1'), undefined);
    c.setNode(makeNode('n1'));
    assert.equal(c.nodeInfo('n1')?.reqMilliCPU, 1000);
  });

  it('visits nodes round-robin over zones', () => {
    const c = new SchedulerCache();
    for (const [name, zone] of [['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b'], ['c1', 'c'], ['c2', 'c']]) c.setNode(makeNode(name, { labels: { [ZONE]: zone } }));
    assert.deepEqual(c.nodes().map((n) => n.name), ['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    c.setNode(makeNode('a1', { labels: { [ZONE]: 'c' } }));
    assert.deepEqual(c.nodes().map((n) => n.name), ['a2', 'b1', 'c1', 'a3', 'c2', 'a1']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterEvent } from './framework.js';
import { newPodInfo } from './pod-info.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { nodeAdmits } from './admission.js';
import { TestCluster, makePod, pending } from './testing.js';

function clockQueue() {
  let t = 1_000_000;
  let work = 0;
  const q = new SchedulingQueue({ now: () => t, onWork: () => work++ });
  return { q, advance: (ms: number) => (t += ms), work: () => work };
}

const FIT = new Set(['NodeResourcesFit']);
const FIT_EVENTS = ClusterEvent.AssignedPodDelete | ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateAllocatable;

function popAll(q: SchedulingQueue): string[] {
  const out: string[] = [];
  let qp: QueuedPodInfo | undefined;
  while ((qp = q.pop())) out.push(qp.info.name);
  return out;
}

describe('scheduling queue', () => {
  it('hands out higher priority first, then in order of arrival', () => {
    const { q, advance } = clockQueue();
    q.add(pending('a', { priority: 0 }));
    advance(1);
    q.add(pending('b', { priority: 10 }));
    advance(1);
    q.add(pending('c', { priority: 0 }));
    q.add(pending('d', { priority: 10 }));
    assert.deepEqual(popAll(q), ['b', 'd', 'a', 'c']);
    q.close();
  });

  it('keeps gated pods until their last gate is removed', () => {
    const { q } = clockQueue();
    const gated = makePod('g', { extraSpec: { schedulingGates: [{ name: 'x' }] } });
    q.add(newPodInfo(gated));
    assert.equal(q.pop(), undefined);
    assert.equal(q.lengths().gated, 1);
    q.update(newPodInfo({ ...gated, spec: { ...gated.spec, schedulingGates: [] } }));
    assert.deepEqual(popAll(q), ['g']);
    q.close();
  });

  it('backs off failed pods 1 s, 2 s, 4 s ... up to 10 s', () => {
    const { q } = clockQueue();
    q.add(pending('p'));
    const qp = q.pop()!;
    const durations: number[] = [];
    for (let i = 1; i <= 6; i++) {
      qp.attempts = i;
      durations.push(q.backoffDuration(qp));
    }
    assert.deepEqual(durations, [1000, 2000, 4000, 8000, 10000, 10000]);
    q.close();
  });

  it('moves unschedulable pods back only on events their rejecting plugins care about', () => {
    const { q, advance } = clockQueue();
    q.add(pending('fit'));
    q.add(pending('taint'));
    const a = q.pop()!;
    const b = q.pop()!;
    q.requeue(a, FIT, FIT_EVENTS);
    q.requeue(b, new Set(['TaintToleration']), ClusterEvent.NodeAdd | ClusterEvent.NodeUpdateTaint);
    assert.equal(q.lengths().unschedulable, 2);
    q.onClusterEvent(ClusterEvent.NodeUpdateLabel);
    q.flushEvents();
    assert.equal(q.lengths().unschedulable, 2);
    advance(5000);
    q.onClusterEvent(ClusterEvent.AssignedPodDelete);
    q.flushEvents();
    // Its backoff (1 s after one attempt) is over: straight to activeQ.
    assert.deepEqual(popAll(q), ['fit']);
    q.onClusterEvent(ClusterEvent.NodeAdd);
    q.flushEvents();
    assert.deepEqual(popAll(q), ['taint']);
    q.close();
  });

  it('sends pods moved while still backing off to backoffQ, and errors straight there', () => {
    const { q } = clockQueue();
    q.add(pending('p'));
    const qp = q.pop()!;
    q.requeue(qp, FIT, FIT_EVENTS);
    q.onClusterEvent(ClusterEvent.NodeAdd);
    q.flushEvents();
    assert.deepEqual(q.lengths(), { active: 0, backoff: 1, unschedulable: 0, gated: 0, total: 1 });
    q.close();
    const { q: q2 } = clockQueue();
    q2.add(pending('e'));
    q2.requeue(q2.pop()!, new Set(), 0);
    assert.equal(q2.lengths().backoff, 1);
    q2.close();
  });

  it('brings a pod back for an added or changed node only if that node could take it', () => {
    let t = 1_000_000;
    const q = new SchedulingQueue({ now: () => t, nodePreCheck: nodeAdmits });
    const c = new TestCluster();
    q.add(pending('big', { cpu: '4', nodeSelector: { disk: 'ssd' } }));
    q.requeue(q.pop()!, FIT, FIT_EVENTS | ClusterEvent.NodeUpdateLabel);
    t += 5000;
    q.onNodeEvent(c.addNode('small', { cpu: '2', labels: { disk: 'ssd' } }), ClusterEvent.NodeAdd);
    q.onNodeEvent(c.addNode('hdd', { cpu: '8', labels: { disk: 'hdd' } }), ClusterEvent.NodeAdd);
    q.onNodeEvent(c.addNode('tainted', { cpu: '8', labels: { disk: 'ssd' }, taints: [{ key: 'k', effect: 'NoSchedule' }] }), ClusterEvent.NodeAdd);
    q.flushEvents();
    assert.equal(q.lengths().unschedulable, 1);
    q.onNodeEvent(c.addNode('hdd', { cpu: '8', labels: { disk: 'ssd' } }), ClusterEvent.NodeUpdateLabel);
    q.flushEvents();
    assert.deepEqual(popAll(q), ['big']);
    q.close();
  });

  it('retries a pod rejected by affinity when a pod its terms select is bound', () => {
    const { q, advance } = clockQueue();
    const term = { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' };
    q.add(pending('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }));
    q.requeue(q.pop()!, new Set(['InterPodAffinity']), ClusterEvent.AssignedPodAdd | ClusterEvent.NodeAdd);
    advance(2000);
    q.onAssignedPod(pending('cache', { labels: { app: 'cache' }, nodeName: 'n' }), ClusterEvent.AssignedPodAdd);
    q.flushEvents();
    assert.equal(q.lengths().unschedulable, 1);
    q.onAssignedPod(pending('db', { labels: { app: 'db' }, nodeName: 'n' }), ClusterEvent.AssignedPodAdd);
    q.flushEvents();
    assert.deepEqual(popAll(q), ['web']);
    q.close();
  });

  it('moves an unschedulable pod whose spec changed, but not on status-only updates', () => {
    const { q, advance } = clockQueue();
    const pod = makePod('p');
    q.add(newPodInfo(pod));
    q.requeue(q.pop()!, FIT, FIT_EVENTS);
    advance(2000);
    q.update(newPodInfo({ ...pod, status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } }));
    assert.equal(q.lengths().unschedulable, 1);
    q.update(newPodInfo({ ...pod, metadata: { ...pod.metadata, labels: { new: 'label' } } }));
    assert.deepEqual(popAll(q), ['p']);
    q.close();
  });

  it('retries pods left unschedulable for too long', () => {
    const { q, advance } = clockQueue();
    q.add(pending('p'));
    q.requeue(q.pop()!, FIT, FIT_EVENTS);
    advance(4 * 60_000);
    q.flushUnschedulableLeftover();
    assert.equal(q.lengths().unschedulable, 1);
    advance(2 * 60_000);
    q.flushUnschedulableLeftover();
    assert.deepEqual(popAll(q), ['p']);
    q.close();
  });
});

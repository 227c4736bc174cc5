import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { CycleState, FitError, Framework, Status } from '../framework.js';
import type { PodInfo } from '../pod-info.js';
import { TestCluster, pending } from '../testing.js';
import { newDefaultPreemption } from './default-preemption.js';
import { newNodeResourcesFit } from './node-resources-fit.js';
import { newTaintToleration } from './taint-toleration.js';
import { newInterPodAffinity } from './inter-pod-affinity.js';
import { newPodTopologySpread } from './pod-topology-spread.js';

function setup(pdbs: KubeObject[] = []) {
  const c = new TestCluster();
  const evicted: string[] = [];
  const cleared: string[] = [];
  const preemption = newDefaultPreemption({
    actions: { evict: (v, _p, node) => evicted.push(`${v.name}@${node}`), clearNomination: (p) => cleared.push(p.name) },
    pdbs: () => pdbs,
    random: () => 0,
  });
  const fw = new Framework([newTaintToleration(), newNodeResourcesFit(), newPodTopologySpread(), newInterPodAffinity(), preemption], c.handle);
  /** Runs a cycle's filters, then PostFilter; returns the nominated node and the message. */
  const run = (pod: PodInfo) => {
    const st = new CycleState();
    fw.runPreFilter(st, pod);
    const statuses = new Map<string, Status>();
    for (const n of c.cache.nodes()) {
      const s = fw.runFilterWithNominatedPods(st, pod, n);
      if (s) statuses.set(n.name, s);
    }
    assert.equal(statuses.size, c.cache.nodes().length, 'the pod should fit nowhere');
    const out = fw.runPostFilter(st, pod, statuses);
    const fit = new FitError(c.cache.nodes().length, statuses, new Set());
    fit.postFilterMsg = out.status.message();
    return { nominated: out.result?.nominatedNodeName, success: out.status.isSuccess(), message: fit.message() };
  };
  return { c, run, evicted, cleared };
}

describe('DefaultPreemption', () => {
  it('evicts the fewest lower-priority pods that make room, on the node with the least important victims', () => {
    const { c, run, evicted } = setup();
    c.addNode('n1', { cpu: '4' });
    c.addNode('n2', { cpu: '4' });
    c.addPod('n1', 'low-a', { cpu: '2', priority: 10 });
    c.addPod('n1', 'low-b', { cpu: '2', priority: 10 });
    c.addPod('n2', 'mid-a', { cpu: '2', priority: 50 });
    c.addPod('n2', 'low-c', { cpu: '1', priority: 10 });
    c.addPod('n2', 'low-d', { cpu: '1', priority: 10 });
    const out = run(pending('high', { cpu: '2', priority: 100 }));
    assert.equal(out.success, true);
    // On n1 one pod of priority 10 is enough; n2 would need both low pods (same highest priority, larger sum).
    assert.equal(out.nominated, 'n1');
    assert.equal(evicted.length, 1);
    assert.match(evicted[0], /^low-[ab]@n1$/);
    assert.equal(out.message, '0/2 nodes are available: 2 Insufficient cpu.');
  });

  it('keeps pods of equal or higher priority, and says so in upstream words', () => {
    const { c, run, evicted } = setup();
    for (const n of ['n1', 'n2', 'n3']) {
      c.addNode(n, { cpu: '1' });
      c.addPod(n, `p-${n}`, { cpu: '1', priority: 100 });
    }
    const out = run(pending('p', { cpu: '1', priority: 100 }));
    assert.equal(out.nominated, '');
    assert.deepEqual(evicted, []);
    assert.equal(out.message, '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.');
  });

  it('does not try nodes preemption cannot help, nor preempt for preemptionPolicy Never', () => {
    const { c, run, evicted } = setup();
    c.addNode('tainted', { cpu: '1', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] });
    c.addNode('full', { cpu: '1' });
    c.addPod('full', 'low', { cpu: '1', priority: 1 });
    c.addPod('tainted', 'low2', { cpu: '1', priority: 1 });
    const never = run(pending('p', { cpu: '1', priority: 100, preemptionPolicy: 'Never' }));
    assert.equal(never.message, '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. preemption: not eligible due to preemptionPolicy=Never.');
    assert.deepEqual(evicted, []);
    const out = run(pending('p', { cpu: '1', priority: 100 }));
    assert.equal(out.nominated, 'full');
    assert.deepEqual(evicted, ['low@full']);
  });

  it('reports nodes where even removing every lower-priority pod is not enough', () => {
    const { c, run } = setup();
    c.addNode('n1', { cpu: '2' });
    c.addPod('n1', 'low', { cpu: '1', priority: 1 });
    c.addPod('n1', 'high', { cpu: '1', priority: 1000 });
    const out = run(pending('p', { cpu: '2', priority: 100 }));
    assert.equal(out.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('prefers victims whose eviction keeps PodDisruptionBudgets', () => {
    const pdb = { metadata: { name: 'pdb', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'guarded' } } }, status: { disruptionsAllowed: 0 } };
    const { c, run, evicted } = setup([pdb]);
    c.addNode('n1', { cpu: '2' });
    c.addNode('n2', { cpu: '2' });
    c.addPod('n1', 'guarded', { cpu: '2', priority: 1, labels: { app: 'guarded' } });
    c.addPod('n2', 'free', { cpu: '2', priority: 5 });
    const out = run(pending('p', { cpu: '2', priority: 100 }));
    assert.equal(out.nominated, 'n2');
    assert.deepEqual(evicted, ['free@n2']);
  });

  it('will not preempt again while a victim on the nominated node is terminating', () => {
    const { c, run, evicted } = setup();
    c.addNode('n1', { cpu: '1' });
    c.addPod('n1', 'victim', {
      cpu: '1',
      priority: 1,
      deletionTimestamp: '2024-01-01T00:00:00Z',
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }],
    });
    const p = pending('p', { cpu: '1', priority: 100 });
    const pod = { ...p, pod: { ...p.pod, status: { nominatedNodeName: 'n1' } } };
    const out = run(pod);
    assert.equal(out.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.');
    assert.deepEqual(evicted, []);
  });
});

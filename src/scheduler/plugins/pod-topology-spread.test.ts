import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, CycleState, SKIP } from '../framework.js';
import type { PodInfo } from '../pod-info.js';
import { TestCluster, pending, type PodSpecOptions } from '../testing.js';
import { newPodTopologySpread } from './pod-topology-spread.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

function constraint(topologyKey: string, extra: Record<string, unknown> = {}) {
  return { maxSkew: 1, topologyKey, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra };
}

function web(name: string, constraints: unknown[], o: PodSpecOptions = {}): PodInfo {
  return pending(name, { labels: { app: 'web' }, topologySpreadConstraints: constraints, ...o });
}

/** Zones a (a1, a2), b (b1), c (c1). */
function cluster(): TestCluster {
  const c = new TestCluster();
  c.addNode('a1', { labels: { [ZONE]: 'a' } });
  c.addNode('a2', { labels: { [ZONE]: 'a' } });
  c.addNode('b1', { labels: { [ZONE]: 'b' } });
  c.addNode('c1', { labels: { [ZONE]: 'c' } });
  return c;
}

function fits(c: TestCluster, pod: PodInfo): string[] {
  const pts = newPodTopologySpread();
  const st = new CycleState();
  if (pts.preFilter(st, pod, c.handle) === SKIP) return c.cache.nodes().map((n) => n.name).sort();
  return c.cache.nodes().filter((n) => pts.filter(st, pod, n) === null).map((n) => n.name).sort();
}

describe('PodTopologySpread', () => {
  it('keeps the skew between zones within maxSkew', () => {
    const c = cluster();
    c.addPod('a1', 'w0', { labels: { app: 'web' } });
    c.addPod('b1', 'w1', { labels: { app: 'web' } });
    // a:1 b:1 c:0 — only zone c keeps the skew at 1.
    assert.deepEqual(fits(c, web('w2', [constraint(ZONE)])), ['a1', 'a2', 'b1', 'c1'].filter((n) => n === 'c1'));
    assert.deepEqual(fits(c, web('w2', [constraint(ZONE, { maxSkew: 2 })])), ['a1', 'a2', 'b1', 'c1']);
  });

  it('ignores pods in other namespaces, pods the selector does not match, and terminating pods', () => {
    const c = cluster();
    c.addPod('a1', 'other-ns', { namespace: 'x', labels: { app: 'web' } });
    c.addPod('a1', 'other-app', { labels: { app: 'db' } });
    c.addPod('a1', 'going', { labels: { app: 'web' }, deletionTimestamp: '2024-01-01T00:00:00Z' });
    assert.deepEqual(fits(c, web('w', [constraint(ZONE)])), ['a1', 'a2', 'b1', 'c1']);
  });

  it('rejects nodes without the topology key as unresolvable', () => {
    const c = cluster();
    c.addNode('bare');
    const pts = newPodTopologySpread();
    const st = new CycleState();
    const p = web('w', [constraint(ZONE)]);
    pts.preFilter(st, p, c.handle);
    const s = pts.filter(st, p, c.node('bare'));
    assert.deepEqual(s?.reasons, ["node(s) didn't match pod topology spread constraints (missing required label)"]);
    assert.equal(s?.code, Code.UnschedulableAndUnresolvable);
    c.addPod('a1', 'w0', { labels: { app: 'web' } });
    const st2 = new CycleState();
    pts.preFilter(st2, p, c.handle);
    const s2 = pts.filter(st2, p, c.node('a1'));
    assert.deepEqual(s2?.reasons, ["node(s) didn't match pod topology spread constraints"]);
    assert.equal(s2?.code, Code.Unschedulable);
  });

  it('takes the global minimum as 0 while there are fewer domains than minDomains', () => {
    const c = cluster();
    for (const z of ['a1', 'b1', 'c1']) c.addPod(z, `w-${z}`, { labels: { app: 'web' } });
    // Every zone has 1: skew 1 anywhere.
    assert.deepEqual(fits(c, web('w', [constraint(ZONE)])), ['a1', 'a2', 'b1', 'c1']);
    // With minDomains 4 and 3 zones the minimum counts as 0: 1 + 1 - 0 > 1 everywhere.
    assert.deepEqual(fits(c, web('w', [constraint(ZONE, { minDomains: 4 })])), []);
  });

  it("counts only nodes matching the pod's node affinity unless nodeAffinityPolicy is Ignore", () => {
    const c = cluster();
    c.addPod('a1', 'w0', { labels: { app: 'web' } });
    c.addPod('b1', 'w1', { labels: { app: 'web' } });
    const sel = { nodeSelector: { [ZONE]: 'a' } } as PodSpecOptions;
    // Zone c does not count for a pod pinned to a or b: the minimum is 1, so a is fine (NodeAffinity,
    // not this plugin, keeps it off c1).
    const pinned = web('w2', [constraint(ZONE)], { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'In', values: ['a', 'b'] }] }] } } } });
    assert.deepEqual(fits(c, pinned), ['a1', 'a2', 'b1', 'c1']);
    const ignoring = web('w2', [constraint(ZONE, { nodeAffinityPolicy: 'Ignore' })], sel);
    assert.deepEqual(fits(c, ignoring), ['c1']);
  });

  it('narrows the selector with matchLabelKeys', () => {
    const c = cluster();
    c.addPod('a1', 'v1', { labels: { app: 'web', rev: '1' } });
    const p = web('v2', [constraint(ZONE, { matchLabelKeys: ['rev'] })], { labels: { app: 'web', rev: '2' } });
    assert.deepEqual(fits(c, p), ['a1', 'a2', 'b1', 'c1']);
  });

  it('scores ScheduleAnyway constraints: fewer matching pods in the domain scores higher', () => {
    const c = cluster();
    c.addPod('a1', 'w0', { labels: { app: 'web' } });
    c.addPod('a2', 'w1', { labels: { app: 'web' } });
    c.addPod('b1', 'w2', { labels: { app: 'web' } });
    const p = web('w3', [constraint(ZONE, { whenUnsatisfiable: 'ScheduleAnyway' })]);
    const pts = newPodTopologySpread();
    const st = new CycleState();
    const nodes = c.cache.nodes();
    assert.equal(pts.preScore(st, p, nodes, c.handle), null);
    const scores = nodes.map((n) => pts.score(st, p, n));
    pts.normalizeScore!(st, p, nodes, scores);
    const byName = Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]]));
    assert.ok(byName.c1 > byName.b1 && byName.b1 > byName.a1, JSON.stringify(byName));
    assert.equal(byName.c1, 100);
    assert.equal(pts.preScore(new CycleState(), web('x', [constraint(HOST)]), nodes, c.handle), SKIP);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, CycleState, SKIP, type Status } from '../framework.js';
import type { PodInfo } from '../pod-info.js';
import { TestCluster, pending } from '../testing.js';
import { newInterPodAffinity } from './inter-pod-affinity.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

function term(labels: Record<string, string>, topologyKey: string, extra: Record<string, unknown> = {}) {
  return { labelSelector: { matchLabels: labels }, topologyKey, ...extra };
}

function cluster(): TestCluster {
  const c = new TestCluster();
  c.addNode('a1', { labels: { [ZONE]: 'a' } });
  c.addNode('a2', { labels: { [ZONE]: 'a' } });
  c.addNode('b1', { labels: { [ZONE]: 'b' } });
  return c;
}

/** Runs PreFilter and Filter on every node; the nodes that fit, or the PreFilter status. */
function fits(c: TestCluster, pod: PodInfo, nsLabels?: (ns: string) => Record<string, string> | undefined): string[] | Status {
  const ipa = newInterPodAffinity(2, nsLabels);
  const st = new CycleState();
  const pre = ipa.preFilter(st, pod, c.handle);
  if (pre === SKIP) return c.cache.nodes().map((n) => n.name).sort();
  if (pre && 'code' in pre) return pre as Status;
  return c.cache.nodes().filter((n) => ipa.filter(st, pod, n) === null).map((n) => n.name).sort();
}

describe('InterPodAffinity', () => {
  it('places a pod with required affinity in the domain of the pods it selects', () => {
    const c = cluster();
    c.addPod('a2', 'db', { labels: { app: 'db' } });
    const web = pending('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, ZONE)] } } });
    assert.deepEqual(fits(c, web), ['a1', 'a2']);
    const sameHost = pending('web', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, HOST)] } } });
    assert.deepEqual(fits(c, sameHost), ['a2']);
  });

  it('lets the first pod of a self-affine group go anywhere, and no other pod before the group exists', () => {
    const c = cluster();
    const first = pending('w1', { labels: { app: 'w' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'w' }, ZONE)] } } });
    assert.deepEqual(fits(c, first), ['a1', 'a2', 'b1']);
    const other = pending('x', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'w' }, ZONE)] } } });
    assert.deepEqual(fits(c, other), []);
    const ipa = newInterPodAffinity();
    const st = new CycleState();
    ipa.preFilter(st, other, c.handle);
    const s = ipa.filter(st, other, c.node('a1'));
    assert.deepEqual(s?.reasons, ["node(s) didn't match pod affinity rules"]);
    assert.equal(s?.code, Code.UnschedulableAndUnresolvable);
  });

  it('keeps a pod with required anti-affinity out of the domains of the pods it selects', () => {
    const c = cluster();
    c.addPod('a1', 'web-0', { labels: { app: 'web' } });
    const web = pending('web-1', { labels: { app: 'web' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST)] } } });
    assert.deepEqual(fits(c, web), ['a2', 'b1']);
    const zonal = pending('web-1', { labels: { app: 'web' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, ZONE)] } } });
    assert.deepEqual(fits(c, zonal), ['b1']);
    const ipa = newInterPodAffinity();
    const st = new CycleState();
    ipa.preFilter(st, zonal, c.handle);
    assert.deepEqual(ipa.filter(st, zonal, c.node('a2'))?.reasons, ["node(s) didn't match pod anti-affinity rules"]);
  });

  it("honours running pods' anti-affinity towards the incoming pod", () => {
    const c = cluster();
    c.addPod('b1', 'loner', { labels: { app: 'loner' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'noisy' }, ZONE)] } } });
    assert.deepEqual(fits(c, pending('n', { labels: { app: 'noisy' } })), ['a1', 'a2']);
    assert.deepEqual(fits(c, pending('q', { labels: { app: 'quiet' } })), ['a1', 'a2', 'b1']);
    const ipa = newInterPodAffinity();
    const st = new CycleState();
    const noisy = pending('n', { labels: { app: 'noisy' } });
    ipa.preFilter(st, noisy, c.handle);
    assert.deepEqual(ipa.filter(st, noisy, c.node('b1'))?.reasons, ["node(s) didn't satisfy existing pods anti-affinity rules"]);
  });

  it('matches terms only in their namespaces: own by default, listed, or selected by namespaceSelector', () => {
    const c = cluster();
    c.addPod('a1', 'db', { namespace: 'data', labels: { app: 'db' } });
    const own = pending('w', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, HOST)] } } });
    assert.deepEqual(fits(c, own), []);
    const listed = pending('w', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, HOST, { namespaces: ['data'] })] } } });
    assert.deepEqual(fits(c, listed), ['a1']);
    const selected = pending('w', {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, HOST, { namespaceSelector: { matchLabels: { team: 'data' } } })] } },
    });
    assert.deepEqual(fits(c, selected, (ns): Record<string, string> => (ns === 'data' ? { team: 'data' } : {})), ['a1']);
    assert.deepEqual(fits(c, selected, () => ({})), []);
  });

  it('reports an invalid selector as unresolvable', () => {
    const c = cluster();
    const bad = pending('w', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, topologyKey: ZONE }] } } });
    const s = fits(c, bad) as Status;
    assert.equal(s.code, Code.UnschedulableAndUnresolvable);
    assert.match(s.reasons[0], /^parsing pod: /);
  });

  it('scores preferred affinity and anti-affinity by weight per domain, normalized between min and max', () => {
    const c = cluster();
    c.addPod('a1', 'cache', { labels: { app: 'cache' } });
    c.addPod('b1', 'batch', { labels: { app: 'batch' } });
    const p = pending('web', {
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ app: 'cache' }, ZONE) }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 20, podAffinityTerm: term({ app: 'batch' }, HOST) }] },
      },
    });
    const ipa = newInterPodAffinity();
    const st = new CycleState();
    const nodes = c.cache.nodes();
    assert.equal(ipa.preScore(st, p, nodes, c.handle), null);
    const scores = nodes.map((n) => ipa.score(st, p, n));
    const byName = Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]]));
    assert.deepEqual(byName, { a1: 50, a2: 50, b1: -20 });
    ipa.normalizeScore!(st, p, nodes, scores);
    assert.deepEqual(Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]])), { a1: 100, a2: 100, b1: 0 });
    assert.equal(ipa.preScore(new CycleState(), pending('plain'), nodes, c.handle), SKIP);
  });

  it("counts running pods' required affinity towards the incoming pod when scoring", () => {
    const c = cluster();
    c.addPod('b1', 'follower', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'leader' }, ZONE)] } } });
    const leader = pending('leader', { labels: { app: 'leader' } });
    const ipa = newInterPodAffinity();
    const st = new CycleState();
    const nodes = c.cache.nodes();
    assert.equal(ipa.preScore(st, leader, nodes, c.handle), null);
    assert.deepEqual(
      nodes.map((n) => ipa.score(st, leader, n)),
      nodes.map((n) => (n.name === 'b1' ? 1 : 0)),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { computeHash, safeEncodeString, semanticEqual, slowStartBatch } from '../controller-utils.js';
import { deploymentTimedOut, setCondition, type DeploymentStatus } from './conditions.js';
import { maxRevision, setNewReplicaSetAnnotations } from './history.js';
import { equalIgnoreHash, findActiveOrLatest, getProportion, isSaturated, maxSurge, maxUnavailable, newRSNewReplicas, resolveFenceposts } from './util.js';

const rolling = (replicas: number, maxSurge: unknown, maxUnavailable: unknown): KubeObject => ({
  metadata: { name: 'd', annotations: {} },
  spec: { replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } },
  status: {},
});

const rs = (name: string, replicas: number, o: { created?: string; annotations?: Record<string, string>; available?: number } = {}): KubeObject => ({
  metadata: { name, uid: name, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z', annotations: o.annotations },
  spec: { replicas },
  status: { availableReplicas: o.available ?? 0 },
});

describe('pod-template hash', () => {
  const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };

  it('is stable across key order, changes with the template and the collision count', () => {
    const h = computeHash(template);
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(computeHash({ spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { app: 'x' } } }), h);
    assert.notEqual(computeHash({ ...template, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }), h);
    assert.notEqual(computeHash(template, 0), h);
    assert.notEqual(computeHash(template, 1), computeHash(template, 0));
  });

  it('encodes digits in the safe alphabet as upstream does', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
  });
});

describe('semantic equality', () => {
  it('treats missing, null, empty maps and empty lists alike', () => {
    assert.ok(semanticEqual({ a: 1, b: {} }, { a: 1 }));
    assert.ok(semanticEqual({ a: [], b: null }, {}));
    assert.ok(!semanticEqual({ a: 0 }, {}));
    assert.ok(!semanticEqual({ a: [1] }, { a: [] }));
  });

  it('compares templates without the pod-template-hash label', () => {
    const t = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    assert.ok(equalIgnoreHash(t, { ...t, metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } } }));
    assert.ok(!equalIgnoreHash(t, { ...t, metadata: { labels: { app: 'y', 'pod-template-hash': 'abc' } } }));
  });
});

describe('maxSurge and maxUnavailable', () => {
  it('rounds percentages: surge up, unavailable down', () => {
    assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
    assert.deepEqual(resolveFenceposts('30%', '30%', 4), { surge: 2, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(2, '50%', 5), { surge: 2, unavailable: 2 });
  });

  it('turns 0/0 after rounding into one unavailable', () => {
    assert.deepEqual(resolveFenceposts('1%', '1%', 2).unavailable, 0);
    assert.deepEqual(resolveFenceposts('0%', '1%', 2), { surge: 0, unavailable: 1 });
  });

  it('caps unavailability at replicas; Recreate has neither', () => {
    assert.equal(maxUnavailable(rolling(2, 0, 5)), 2);
    assert.equal(maxUnavailable(rolling(0, 1, 1)), 0);
    const recreate = { spec: { replicas: 3, strategy: { type: 'Recreate' } } };
    assert.equal(maxSurge(recreate), 0);
    assert.equal(maxUnavailable(recreate), 0);
  });

  it('rejects strings that are not percentages', () => {
    assert.throws(() => resolveFenceposts('3', 0, 10));
  });
});

describe('sizes', () => {
  it('grows the new ReplicaSet up to replicas + maxSurge', () => {
    const d = rolling(10, 3, 2);
    const n = rs('new', 0);
    assert.equal(newRSNewReplicas(d, [rs('old', 10), n], n), 3);
    assert.equal(newRSNewReplicas(d, [rs('old', 8), rs('new', 3)], rs('new', 3)), 5);
    assert.equal(newRSNewReplicas(d, [rs('old', 10), rs('new', 3)], rs('new', 3)), 3);
    assert.equal(newRSNewReplicas(d, [rs('new', 9)], rs('new', 9)), 10);
    assert.equal(newRSNewReplicas({ spec: { replicas: 4, strategy: { type: 'Recreate' } } }, [], n), 4);
  });

  it('shares a scaling event in proportion to max-replicas', () => {
    const d = rolling(20, 3, 2);
    const old = rs('old', 8, { annotations: { 'deployment.kubernetes.io/max-replicas': '13' } });
    const cur = rs('new', 5, { annotations: { 'deployment.kubernetes.io/max-replicas': '13' } });
    assert.equal(getProportion(old, d, 10, 0), 6);
    assert.equal(getProportion(cur, d, 10, 6), 4);
    assert.equal(getProportion(rs('empty', 0), d, 10, 0), 0);
    // Scaling to zero takes everything.
    assert.equal(getProportion(old, rolling(0, 3, 2), -13, 0), -8);
  });

  it('finds the only active or the newest ReplicaSet', () => {
    const a = rs('a', 0, { created: '2024-01-01T00:00:00Z' });
    const b = rs('b', 0, { created: '2024-01-02T00:00:00Z' });
    assert.equal(findActiveOrLatest(undefined, [a, b])?.metadata?.name, 'b');
    assert.equal(findActiveOrLatest(rs('n', 0), [a, b])?.metadata?.name, 'n');
    assert.equal(findActiveOrLatest(rs('n', 1), [a, rs('c', 2)]), undefined);
    assert.equal(findActiveOrLatest(rs('n', 0), [a, rs('c', 2)])?.metadata?.name, 'c');
  });

  it('calls a ReplicaSet saturated when it holds and has available every desired replica', () => {
    const d = rolling(3, 1, 1);
    assert.ok(isSaturated(d, rs('n', 3, { annotations: { 'deployment.kubernetes.io/desired-replicas': '3' }, available: 3 })));
    assert.ok(!isSaturated(d, rs('n', 3, { annotations: { 'deployment.kubernetes.io/desired-replicas': '3' }, available: 2 })));
    assert.ok(!isSaturated(d, rs('n', 3, { available: 3 })));
  });
});

describe('revisions', () => {
  it('raises the revision and keeps the old one in revision-history on a rollback', () => {
    const d = { metadata: { annotations: { 'kubernetes.io/change-cause': 'why', 'deployment.kubernetes.io/revision': '9', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { replicas: 2, strategy: { type: 'Recreate' } } };
    const created = rs('n', 0);
    assert.ok(setNewReplicaSetAnnotations(d, created, 4, false));
    assert.deepEqual(created.metadata!.annotations, {
      'kubernetes.io/change-cause': 'why',
      'deployment.kubernetes.io/revision': '4',
      'deployment.kubernetes.io/desired-replicas': '2',
      'deployment.kubernetes.io/max-replicas': '2',
    });
    const reused = rs('o', 0, { annotations: { 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/revision-history': '0' } });
    assert.ok(setNewReplicaSetAnnotations(d, reused, 5, true));
    assert.equal(reused.metadata!.annotations!['deployment.kubernetes.io/revision'], '5');
    assert.equal(reused.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '0,1');
    assert.ok(!setNewReplicaSetAnnotations(d, reused, 5, true), 'a second time changes nothing');
  });

  it('keeps revision-history within its length limit, dropping the oldest', () => {
    const reused = rs('o', 0, { annotations: { 'deployment.kubernetes.io/revision': '7', 'deployment.kubernetes.io/revision-history': '1,2,3' } });
    setNewReplicaSetAnnotations({ metadata: {}, spec: { replicas: 1 } }, reused, 8, true, 6);
    assert.equal(reused.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '2,3,7');
  });

  it('skips unreadable revisions', () => {
    assert.equal(maxRevision([rs('a', 0, { annotations: { 'deployment.kubernetes.io/revision': 'x' } }), rs('b', 0, { annotations: { 'deployment.kubernetes.io/revision': '3' } }), undefined]), 3);
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime when only the reason changes, and changes nothing for the same reason', () => {
    const s: DeploymentStatus = {};
    setCondition(s, { type: 'Progressing', status: 'True', reason: 'A', lastUpdateTime: 't1', lastTransitionTime: 't1' });
    setCondition(s, { type: 'Available', status: 'True', reason: 'X', lastUpdateTime: 't1', lastTransitionTime: 't1' });
    setCondition(s, { type: 'Progressing', status: 'True', reason: 'B', lastUpdateTime: 't2', lastTransitionTime: 't2' });
    assert.deepEqual(
      s.conditions!.map((c) => [c.type, c.reason, c.lastTransitionTime, c.lastUpdateTime]),
      [
        ['Available', 'X', 't1', 't1'],
        ['Progressing', 'B', 't1', 't2'],
      ],
    );
    setCondition(s, { type: 'Progressing', status: 'True', reason: 'B', lastUpdateTime: 't3', lastTransitionTime: 't3' });
    assert.equal(s.conditions![1].lastUpdateTime, 't2');
  });

  it('times out only past the deadline, never after completing', () => {
    const d = { spec: { progressDeadlineSeconds: 10 } };
    const at = Date.parse('2024-01-01T00:00:00Z');
    const status = (reason: string): DeploymentStatus => ({ conditions: [{ type: 'Progressing', status: 'True', reason, lastUpdateTime: '2024-01-01T00:00:00Z' }] });
    assert.ok(!deploymentTimedOut(d, status('ReplicaSetUpdated'), at + 10_000));
    assert.ok(deploymentTimedOut(d, status('ReplicaSetUpdated'), at + 10_001));
    assert.ok(!deploymentTimedOut(d, status('NewReplicaSetAvailable'), at + 99_000));
    assert.ok(!deploymentTimedOut({ spec: { progressDeadlineSeconds: 2147483647 } }, status('ReplicaSetUpdated'), at + 99_000));
  });
});

describe('slow start', () => {
  it('runs batches of 1, 2, 4 and stops after the first failing batch', async () => {
    let calls = 0;
    const ok = await slowStartBatch(10, 1, async () => void calls++);
    assert.deepEqual([ok.successes, calls], [10, 10]);
    calls = 0;
    const failing = await slowStartBatch(10, 1, async () => {
      calls++;
      if (calls === 2) throw new Error('quota');
    });
    // Batch 1 (one call) succeeds, batch 2 (two calls) has the failure: seven never tried.
    assert.deepEqual([failing.successes, calls, (failing.error as Error).message], [2, 3, 'quota']);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { DisruptionController, PDBS } from './disruption.js';
import { PODS, REPLICA_SETS, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const NS = 'pdb';

describe('disruption controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: DisruptionController;

  before(async () => {
    cluster = await startInProcessCluster('disruption');
    client = cluster.client;
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    controller = new DisruptionController(newControllerContext(counting, informers), { deletionTimeoutMs: 1500, stalePodDisruptionTimeoutMs: 300, retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  async function replicaSet(name: string, replicas: number): Promise<KubeObject> {
    const labels = { app: name };
    return client.create(REPLICA_SETS, NS, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    } as KubeObject);
  }

  /** A pod of `owner` (or of nobody), Running and Ready as a kubelet would report it. */
  async function pod(name: string, app: string, owner: KubeObject | undefined, ready: boolean): Promise<void> {
    const ownerReferences = owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }] : undefined;
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app }, ownerReferences }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject);
    await setReady(name, ready);
  }

  async function setReady(name: string, ready: boolean): Promise<void> {
    const conditions = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339(Date.now()) }];
    await client.patch(PODS, NS, name, 'application/merge-patch+json', { status: { phase: 'Running', conditions } }, { subresource: 'status' });
  }

  async function budget(name: string, app: string, spec: Record<string, unknown>): Promise<void> {
    await client.create(PDBS, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec: { ...spec, selector: { matchLabels: { app } } } } as KubeObject);
  }

  type Summary = [expectedPods: number, currentHealthy: number, desiredHealthy: number, disruptionsAllowed: number, condition: string];

  /** Waits for the budget's status to be `want`, processed at its current generation. */
  async function settled(name: string, want: Summary): Promise<KubeObject> {
    let last: unknown;
    try {
      return await eventually(`status of ${name}`, async () => {
        const pdb = await client.get(PDBS, NS, name);
        const s = pdb.status ?? {};
        const cond = (s.conditions ?? []).find((c: { type: string }) => c.type === 'DisruptionAllowed');
        last = [s.expectedPods, s.currentHealthy, s.desiredHealthy, s.disruptionsAllowed, cond && `${cond.status}/${cond.reason}`];
        return s.observedGeneration === pdb.metadata?.generation && JSON.stringify(last) === JSON.stringify(want) && pdb;
      });
    } catch (err) {
      assert.fail(`${(err as Error).message}: last ${JSON.stringify(last)}, want ${JSON.stringify(want)}`);
    }
  }

  it('computes minAvailable as an integer from the selected pods, and follows readiness', async () => {
    const rs = await replicaSet('ints', 5);
    await pod('ints-a', 'ints', rs, true);
    await pod('ints-b', 'ints', rs, true);
    await pod('ints-c', 'ints', rs, false);
    await budget('ints', 'ints', { minAvailable: 2 });
    // An integer minAvailable counts the pods there are, not the ReplicaSet's 5.
    await settled('ints', [3, 2, 2, 0, 'False/InsufficientPods']);
    await setReady('ints-c', true);
    const pdb = await settled('ints', [3, 3, 2, 1, 'True/SufficientPods']);
    assert.equal(pdb.status.conditions[0].observedGeneration, pdb.metadata?.generation);
  });

  it('scales percentages and maxUnavailable by the controller, rounding up', async () => {
    const rs = await replicaSet('pct', 4);
    for (const n of ['a', 'b', 'c']) await pod(`pct-${n}`, 'pct', rs, true);
    await budget('pct-min', 'pct', { minAvailable: '30%' });
    await budget('pct-max', 'pct', { maxUnavailable: '30%' });
    await budget('int-max', 'pct', { maxUnavailable: 1 });
    // ceil(30% of 4) = 2 must be healthy; ceil(30% of 4) = 2 may be unavailable; 4 - 1 = 3 must be healthy.
    await settled('pct-min', [4, 3, 2, 1, 'True/SufficientPods']);
    await settled('pct-max', [4, 3, 2, 1, 'True/SufficientPods']);
    await settled('int-max', [4, 3, 3, 0, 'False/InsufficientPods']);
  });

  it('fails safe when a pod has no controller it knows, with SyncFailed', async () => {
    await client.create(PODS, NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orphan', labels: { app: 'lost' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'no-such-uid', controller: true }] },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    } as KubeObject);
    await budget('lost', 'lost', { maxUnavailable: 1 });
    const pdb = await eventually('SyncFailed', async () => {
      const p = await client.get(PDBS, NS, 'lost');
      return p.status?.conditions?.[0]?.reason === 'SyncFailed' && p;
    });
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.equal(pdb.status.conditions[0].message, 'found no controllers for pod "orphan"');
    // Failing the same way again rewrites nothing.
    await controller.reconcile(`${NS}/lost`);
    assert.equal((await client.get(PDBS, NS, 'lost')).metadata?.resourceVersion, pdb.metadata?.resourceVersion);
  });

  it('keeps an eviction in disruptedPods, uncounted, until it lands or times out', async () => {
    const rs = await replicaSet('ev', 3);
    for (const n of ['a', 'b', 'c']) await pod(`ev-${n}`, 'ev', rs, true);
    await budget('ev', 'ev', { minAvailable: 2 });
    await settled('ev', [3, 3, 2, 1, 'True/SufficientPods']);
    // The eviction subresource takes the disruption and notes the pod; the pod is unbound, so it goes at once.
    await client.create(PODS, NS, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'ev-a' } } as KubeObject, { subresource: 'eviction' });
    await settled('ev', [2, 2, 2, 0, 'False/InsufficientPods']);
    // The evicted pod is gone, and so is its entry (the counts may land in the write before the entry goes).
    await eventually('the entry of the evicted pod goes', async () => (await client.get(PDBS, NS, 'ev')).status.disruptedPods === undefined);
    // An eviction promised but not carried out stops counting against the budget after the timeout.
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ev-d', labels: { app: 'ev' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject);
    await setReady('ev-d', true);
    await settled('ev', [3, 3, 2, 1, 'True/SufficientPods']);
    await client.patch(PDBS, NS, 'ev', 'application/merge-patch+json', { status: { disruptedPods: { 'ev-d': rfc3339(Date.now()) } } }, { subresource: 'status' });
    await settled('ev', [3, 2, 2, 0, 'False/InsufficientPods']);
    await settled('ev', [3, 3, 2, 1, 'True/SufficientPods']);
    // As above: the counts may land in the write before the timed-out entry goes.
    await eventually('the timed-out entry goes', async () => (await client.get(PDBS, NS, 'ev')).status.disruptedPods === undefined);
  });

  it('sets a stale DisruptionTarget back to False on a pod that was never deleted', async () => {
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'spared', labels: { app: 'spared' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject);
    const marked = { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: rfc3339(Date.now()) };
    const kubelet = { ...marked, reason: 'TerminationByKubelet', message: 'x', lastTransitionTime: '2020-01-01T00:00:00Z' };
    await client.patch(PODS, NS, 'spared', 'application/merge-patch+json', { status: { phase: 'Running', conditions: [marked] } }, { subresource: 'status' });
    const cond = await eventually('DisruptionTarget=False', async () => {
      const c = (await client.get(PODS, NS, 'spared')).status.conditions.find((x: { type: string }) => x.type === 'DisruptionTarget');
      return c.status === 'False' && c;
    });
    assert.equal(cond.reason, undefined);
    // The kubelet's own DisruptionTarget is never stale, however old.
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dying', labels: { app: 'spared' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject);
    await client.patch(PODS, NS, 'dying', 'application/merge-patch+json', { status: { phase: 'Running', conditions: [kubelet] } }, { subresource: 'status' });
    await controller.reconcile(`pod:${NS}/dying`);
    assert.equal((await client.get(PODS, NS, 'dying')).status.conditions[0].status, 'True');
  });

  it('writes nothing when every budget is settled', async () => {
    await settled('ints', [3, 3, 2, 1, 'True/SufficientPods']);
    await settled('pct-min', [4, 3, 2, 1, 'True/SufficientPods']);
    const before = counting.attempts;
    for (const key of ['ints', 'pct-min', 'pct-max', 'int-max', 'ev']) await controller.reconcile(`${NS}/${key}`);
    assert.equal(counting.attempts, before);
  });
});

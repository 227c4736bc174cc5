import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { ApiError } from '../api/errors.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { PodGcController } from './pod-gc.js';
import { NODES, PODS, podCondition, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const NS = 'gc';
const HOLD = 'skiff.test/hold';

describe('pod garbage collector', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: PodGcController;

  before(async () => {
    cluster = await startInProcessCluster('pod-gc');
    client = cluster.client;
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    controller = new PodGcController(newControllerContext(counting, informers), { terminatedPodThreshold: 3, periodMs: 50, quarantineMs: 300, retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  async function node(name: string, ready = 'True', taints?: Record<string, unknown>[]): Promise<void> {
    const conditions = [{ type: 'Ready', status: ready, lastHeartbeatTime: rfc3339(Date.now()), lastTransitionTime: rfc3339(Date.now()) }];
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: taints ? { taints } : {}, status: { conditions } });
  }

  async function pod(name: string, o: { node?: string; phase?: string; reason?: string; hold?: boolean; labels?: Record<string, string> } = {}): Promise<void> {
    const metadata: Record<string, unknown> = { name, labels: o.labels ?? { set: 'x' } };
    if (o.hold) metadata.finalizers = [HOLD];
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
    if (o.node) await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: o.node } }, { subresource: 'binding' });
    if (o.phase) await client.patch(PODS, NS, name, 'application/merge-patch+json', { status: { phase: o.phase, reason: o.reason } }, { subresource: 'status' });
  }

  async function tryGet(name: string): Promise<KubeObject | undefined> {
    try {
      return await client.get(PODS, NS, name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async function release(name: string): Promise<void> {
    await client.patch(PODS, NS, name, 'application/merge-patch+json', { metadata: { finalizers: null } });
  }

  it('deletes terminated pods beyond the threshold, evicted ones first, then the oldest', async () => {
    await node('worker');
    await pod('done-0', { node: 'worker', phase: 'Succeeded', labels: { set: 'done' } });
    await new Promise((r) => setTimeout(r, 1100)); // creation timestamps have whole seconds
    await pod('done-1', { node: 'worker', phase: 'Failed', labels: { set: 'done' } });
    await pod('done-2', { node: 'worker', phase: 'Succeeded', labels: { set: 'done' } });
    await pod('done-3', { node: 'worker', phase: 'Succeeded', labels: { set: 'done' } });
    await pod('done-4', { node: 'worker', phase: 'Failed', reason: 'Evicted', labels: { set: 'done' } });
    await pod('running', { node: 'worker', phase: 'Running', labels: { set: 'done' } });
    const left = await eventually('three terminated pods left', async () => {
      const { items } = await client.list(PODS, NS, { labelSelector: 'set=done' });
      return items.length === 4 ? items : undefined;
    });
    assert.deepEqual(left.map((p) => p.metadata?.name).sort(), ['done-1', 'done-2', 'done-3', 'running']);
  });

  it('marks and force-deletes pods of a node that is gone, after the quarantine', async () => {
    await node('doomed');
    await pod('orphan', { node: 'doomed', phase: 'Running', hold: true });
    await pod('ghostly', { node: 'never-existed', phase: 'Running' });
    await client.delete(NODES, '', 'doomed');
    const orphan = await eventually('orphan force-deleted', async () => {
      const p = await tryGet('orphan');
      return p?.metadata?.deletionTimestamp ? p : undefined;
    });
    assert.equal(orphan.metadata?.deletionGracePeriodSeconds, 0);
    assert.equal(orphan.status?.phase, 'Failed');
    const c = podCondition(orphan, 'DisruptionTarget');
    assert.deepEqual([c?.status, c?.reason, c?.message], ['True', 'DeletionByPodGC', 'PodGC: node no longer exists']);
    await eventually('ghostly gone', async () => !(await tryGet('ghostly')));
    await release('orphan');
  });

  it('force-deletes terminating pods that were never scheduled or sit on an out-of-service node', async () => {
    await pod('unscheduled', { hold: true });
    await client.delete(PODS, NS, 'unscheduled');
    const unscheduled = await eventually('unscheduled marked failed', async () => {
      const p = await tryGet('unscheduled');
      return p?.status?.phase === 'Failed' && p.metadata?.deletionGracePeriodSeconds === 0 ? p : undefined;
    });
    assert.ok(unscheduled.metadata?.deletionTimestamp);
    await release('unscheduled');

    await node('broken', 'False', [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }]);
    await node('healthy');
    await pod('stuck', { node: 'broken', phase: 'Running' });
    await pod('stopping', { node: 'healthy', phase: 'Running' });
    await client.delete(PODS, NS, 'stuck');
    await client.delete(PODS, NS, 'stopping');
    await eventually('stuck gone', async () => !(await tryGet('stuck')));
    // A terminating pod on a working node is its kubelet's to finish.
    await controller.reconcile('gc');
    const stopping = await tryGet('stopping');
    assert.ok(stopping?.metadata?.deletionTimestamp);
    assert.equal(stopping?.status?.phase, 'Running');
  });

  it('writes nothing when the world is settled', async () => {
    await eventually('a pass without writes', async () => {
      const writes = counting.writes;
      await controller.reconcile('gc');
      return counting.writes === writes;
    }, 20);
    const terminated = (await client.list(PODS, '')).items.filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    assert.ok(terminated.length <= 3, `${terminated.length} terminated pods kept`);
  });
});

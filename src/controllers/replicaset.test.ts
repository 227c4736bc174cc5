import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { errors } from '../api/errors.js';
import type { ApiServer } from '../apiserver/server.js';
import type { Client, ResourceRef, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext, type ControllerContext } from './context.js';
import { deleteBefore, podsToDelete } from './controller-utils.js';
import { ReplicaSetController } from './replicaset.js';
import { EVENTS, PODS, REPLICA_SETS, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };

/** A client whose pod creations fail while `failPods` is set: a quota, as far as the controller can tell. */
class FlakyClient extends CountingClient {
  failPods = false;
  override create(ref: ResourceRef, namespace: string, obj: KubeObject, opts?: WriteOptions) {
    if (this.failPods && ref.resource === 'pods') {
      return Promise.reject(errors.forbidden(`pods "${obj.metadata?.generateName ?? ''}" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2`));
    }
    return super.create(ref, namespace, obj, opts);
  }
}

/** A client whose pod watch events arrive late while `delayMs` is set, or not at all while held: a slow watch. */
class SlowWatchClient extends FlakyClient {
  delayMs = 0;
  private held: (() => void)[] | undefined;
  override watch(ref: ResourceRef, namespace: string, opts: WatchOptions, onEvent: (type: WatchEventType, obj: KubeObject) => void): WatchHandle {
    if (ref.resource !== 'pods') return super.watch(ref, namespace, opts, onEvent);
    let chain = Promise.resolve();
    return super.watch(ref, namespace, opts, (type, obj) => {
      const delay = this.delayMs;
      chain = chain
        .then(() => (delay > 0 ? new Promise((r) => setTimeout(r, delay)) : undefined))
        .then(() => (this.held ? new Promise<void>((r) => this.held!.push(r)) : undefined))
        .then(() => onEvent(type, obj));
    });
  }
  holdPodEvents(): void {
    this.held = [];
  }
  releasePodEvents(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const release of held) release();
  }
}

function rsObject(name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...extra,
    },
  };
}

describe('ReplicaSet controller', () => {
  let cluster: InProcessCluster;
  let server: ApiServer;
  let client: Client;
  let counting: SlowWatchClient;
  let informers: SharedInformers;
  let ctx: ControllerContext;
  let controller: ReplicaSetController;

  before(async () => {
    cluster = await startInProcessCluster('replicaset');
    ({ server, client } = cluster);
    counting = new SlowWatchClient(server);
    informers = new SharedInformers(counting);
    ctx = newControllerContext(counting, informers);
    controller = new ReplicaSetController(ctx, { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await ctx.recorder('replicaset-controller').flush();
    await cluster.stop();
  });

  async function namespace(name: string): Promise<string> {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  async function podsOf(ns: string, rs?: KubeObject): Promise<KubeObject[]> {
    const items = (await client.list(PODS, ns)).items;
    return rs ? items.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === rs.metadata?.uid && r.controller)) : items;
  }

  /** What a kubelet would write: Running and Ready since `readySince`. */
  async function markReady(ns: string, name: string, readySince = Date.now()): Promise<void> {
    const t = rfc3339(readySince);
    await client.patch(
      PODS,
      ns,
      name,
      'application/merge-patch+json',
      { status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] } },
      { subresource: 'status' },
    );
  }

  async function bind(ns: string, name: string, node: string): Promise<void> {
    await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } }, { subresource: 'binding' });
  }

  function rsStatus(ns: string, name: string, want: (s: Record<string, any>, rs: KubeObject) => boolean): Promise<KubeObject> {
    return eventually(`status of ${ns}/${name}`, async () => {
      const rs = await client.get(REPLICA_SETS, ns, name);
      return want(rs.status ?? {}, rs) ? rs : undefined;
    });
  }

  async function eventsFor(ns: string, name: string): Promise<KubeObject[]> {
    await ctx.recorder('replicaset-controller').flush();
    return (await client.list(EVENTS, ns)).items.filter((e) => e.involvedObject?.name === name);
  }

  it('creates pods from the template, owned by the ReplicaSet, and reports them in status', async () => {
    const ns = await namespace('rs-up');
    const rs = await client.create(REPLICA_SETS, ns, rsObject('web', 3));
    const created = await rsStatus(ns, 'web', (s) => s.replicas === 3 && s.fullyLabeledReplicas === 3 && s.observedGeneration === 1);
    assert.equal(created.status.readyReplicas, undefined);
    const pods = await podsOf(ns, rs);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata!.name!, /^web-/);
      assert.deepEqual(p.metadata!.labels, { app: 'web', tier: 'web' });
      assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    }
    for (const p of pods) await markReady(ns, p.metadata!.name!);
    await rsStatus(ns, 'web', (s) => s.readyReplicas === 3 && s.availableReplicas === 3);
    const events = await eventsFor(ns, 'web');
    assert.equal(events.filter((e) => e.reason === 'SuccessfulCreate' && /^Created pod: web-/.test(e.message)).length, 3);
    assert.ok(events.every((e) => e.source?.component === 'replicaset-controller'));
  });

  it('scales down in upstream order: unscheduled, then pending, then the most recently ready', async () => {
    const ns = await namespace('rs-down');
    await client.create(REPLICA_SETS, ns, rsObject('db', 4));
    await rsStatus(ns, 'db', (s) => s.replicas === 4);
    const [a, b, c, d] = (await podsOf(ns)).map((p) => p.metadata!.name!);
    // a, b and c run on a node; a has been ready for an hour, b for a moment; c is pending; d is not scheduled.
    for (const n of [a, b, c]) await bind(ns, n, 'node-1');
    await markReady(ns, a, Date.now() - 3600_000);
    await markReady(ns, b);
    await rsStatus(ns, 'db', (s) => s.readyReplicas === 2);

    await client.patch(REPLICA_SETS, ns, 'db', 'application/merge-patch+json', { spec: { replicas: 2 } });
    await rsStatus(ns, 'db', (s, rs) => s.replicas === 2 && s.observedGeneration === rs.metadata!.generation);
    const live = (await podsOf(ns)).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name);
    assert.deepEqual(live.sort(), [a, b].sort());
    // The unscheduled pod is gone at once; the bound one waits for its kubelet.
    const all = await podsOf(ns);
    assert.ok(!all.some((p) => p.metadata?.name === d));
    assert.ok(all.find((p) => p.metadata?.name === c)?.metadata?.deletionTimestamp);

    await client.patch(REPLICA_SETS, ns, 'db', 'application/merge-patch+json', { spec: { replicas: 1 } });
    await rsStatus(ns, 'db', (s) => s.replicas === 1);
    const left = (await podsOf(ns)).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name);
    assert.deepEqual(left, [a], 'the pod ready the longest stays');
    const deletes = (await eventsFor(ns, 'db')).filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
    assert.deepEqual(deletes.sort(), [`Deleted pod: ${b}`, `Deleted pod: ${c}`, `Deleted pod: ${d}`].sort());
  });

  it('adopts matching orphans and releases pods whose labels stop matching', async () => {
    const ns = await namespace('rs-adopt');
    const orphan = await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'redis' }] } });
    const other = await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other', labels: { app: 'else' } }, spec: { containers: [{ name: 'c', image: 'redis' }] } });
    const rs = await client.create(REPLICA_SETS, ns, rsObject('cache', 2));
    await rsStatus(ns, 'cache', (s) => s.replicas === 2);
    const owned = await podsOf(ns, rs);
    assert.equal(owned.length, 2);
    assert.ok(owned.some((p) => p.metadata?.uid === orphan.metadata?.uid), 'the orphan was adopted');
    assert.equal((await client.get(PODS, ns, 'other')).metadata?.ownerReferences, undefined);
    assert.equal(other.metadata?.ownerReferences, undefined);

    // The adopted pod leaves the selector: it is released, and replaced.
    await client.patch(PODS, ns, 'stray', 'application/merge-patch+json', { metadata: { labels: { app: 'gone' } } });
    await eventually('stray released', async () => ((await client.get(PODS, ns, 'stray')).metadata?.ownerReferences ?? []).length === 0);
    await rsStatus(ns, 'cache', (s) => s.replicas === 2);
    const now = await podsOf(ns, rs);
    assert.equal(now.length, 2);
    assert.ok(!now.some((p) => p.metadata?.name === 'stray'));
  });

  it('counts only pods labeled like the template as fully labeled', async () => {
    const ns = await namespace('rs-label');
    await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'half', labels: { app: 'api' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await client.create(REPLICA_SETS, ns, rsObject('api', 2));
    await rsStatus(ns, 'api', (s) => s.replicas === 2 && s.fullyLabeledReplicas === 1);
  });

  it('waits minReadySeconds before counting pods available, and looks again by itself', async () => {
    const ns = await namespace('rs-minready');
    await client.create(REPLICA_SETS, ns, rsObject('slow', 2, { minReadySeconds: 1 }));
    await rsStatus(ns, 'slow', (s) => s.replicas === 2);
    const now = Date.now();
    for (const p of await podsOf(ns)) await markReady(ns, p.metadata!.name!, now);
    await rsStatus(ns, 'slow', (s) => s.readyReplicas === 2);
    await rsStatus(ns, 'slow', (s) => s.availableReplicas === 2);
  });

  it('reports ReplicaFailure when creating fails, and clears it once creating works', async () => {
    const ns = await namespace('rs-quota');
    counting.failPods = true;
    try {
      await client.create(REPLICA_SETS, ns, rsObject('q', 2));
      const rs = await rsStatus(ns, 'q', (s) => (s.conditions ?? []).some((c: any) => c.type === 'ReplicaFailure'));
      const cond = rs.status.conditions.find((c: any) => c.type === 'ReplicaFailure');
      assert.equal(cond.status, 'True');
      assert.equal(cond.reason, 'FailedCreate');
      assert.match(cond.message, /exceeded quota/);
      const failed = await eventually('FailedCreate event', async () => (await eventsFor(ns, 'q')).find((e) => e.reason === 'FailedCreate'));
      assert.equal(failed.type, 'Warning');
      assert.match(failed.message, /^Error creating: pods "q-" is forbidden: exceeded quota/);
    } finally {
      counting.failPods = false;
    }
    await rsStatus(ns, 'q', (s) => s.replicas === 2 && s.conditions === undefined);
  });

  it('never creates twice what a slow watch has yet to show', async () => {
    const ns = await namespace('rs-slow');
    let creates = 0;
    const count = (type: WatchEventType, e: KubeObject) => {
      if (type === 'ADDED' && e.reason === 'SuccessfulCreate' && e.involvedObject?.name === 'burst') creates++;
    };
    const watch = client.watch(EVENTS, ns, {}, count);
    counting.delayMs = 150;
    try {
      await client.create(REPLICA_SETS, ns, rsObject('burst', 5));
      // While pods are unseen, the status write and every requeue find "0 pods": expectations hold them back.
      await rsStatus(ns, 'burst', (s) => s.replicas === 5);
      await client.patch(REPLICA_SETS, ns, 'burst', 'application/merge-patch+json', { spec: { replicas: 2 } });
      await rsStatus(ns, 'burst', (s, rs) => s.replicas === 2 && s.observedGeneration === rs.metadata!.generation);
    } finally {
      counting.delayMs = 0;
    }
    await client.patch(REPLICA_SETS, ns, 'burst', 'application/merge-patch+json', { metadata: { labels: { poke: '1' } } });
    await rsStatus(ns, 'burst', (s, rs) => s.replicas === 2 && rs.metadata?.labels?.poke === '1');
    assert.equal((await podsOf(ns)).length, 2);
    await ctx.recorder('replicaset-controller').flush();
    await eventually('create events', async () => creates === 5);
    const deletes = (await eventsFor(ns, 'burst')).filter((e) => e.reason === 'SuccessfulDelete');
    assert.equal(deletes.length, 3);
    watch.stop();
  });

  it('writes nothing when it reconciles a settled world again', async () => {
    const ns = await namespace('rs-level');
    await client.create(REPLICA_SETS, ns, rsObject('calm', 2));
    await rsStatus(ns, 'calm', (s) => s.replicas === 2);
    for (const p of await podsOf(ns)) await markReady(ns, p.metadata!.name!);
    await rsStatus(ns, 'calm', (s) => s.availableReplicas === 2);
    // Wait for the informers to have seen the last status write before counting.
    const rsInf = informers.informer(REPLICA_SETS);
    await eventually('informer caught up', async () => rsInf.get(`${ns}/calm`)?.status?.availableReplicas === 2);
    await ctx.recorder('replicaset-controller').flush();
    const before = counting.attempts;
    for (const key of rsInf.listKeys()) await controller.reconcile(key);
    await ctx.recorder('replicaset-controller').flush();
    assert.equal(counting.attempts, before);
  });

  it('replaces no pod of a ReplicaSet being deleted, but keeps its status current', async () => {
    const ns = await namespace('rs-gone');
    await client.create(REPLICA_SETS, ns, rsObject('tmp', 2));
    await rsStatus(ns, 'tmp', (s) => s.replicas === 2);
    // With no garbage collector running, the orphan finalizer keeps the ReplicaSet, marked deleted.
    await client.delete(REPLICA_SETS, ns, 'tmp', { propagationPolicy: 'Orphan' });
    await rsStatus(ns, 'tmp', (_s, rs) => Boolean(rs.metadata?.deletionTimestamp));
    const [victim] = await podsOf(ns);
    await client.delete(PODS, ns, victim.metadata!.name!);
    await rsStatus(ns, 'tmp', (s) => s.replicas === 1);
    assert.equal((await podsOf(ns)).length, 1);
  });
});

describe('ReplicaSet controller: burstReplicas', () => {
  let cluster: InProcessCluster;
  let slow: SlowWatchClient;
  let informers: SharedInformers;
  let controller: ReplicaSetController;

  before(async () => {
    cluster = await startInProcessCluster('replicaset-burst');
    slow = new SlowWatchClient(cluster.server);
    informers = new SharedInformers(slow);
    controller = new ReplicaSetController(newControllerContext(slow, informers), { burstReplicas: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  it('creates at most burstReplicas pods per sync, and no more before it sees them', async () => {
    const { client } = cluster;
    slow.holdPodEvents();
    try {
      await client.create(REPLICA_SETS, 'default', rsObject('many', 5));
      // The status written after the first round of creates: by then that round is over.
      await eventually('first sync', async () => (await client.get(REPLICA_SETS, 'default', 'many')).status?.observedGeneration === 1);
      assert.equal((await client.list(PODS, 'default')).items.length, 2);
    } finally {
      slow.releasePodEvents();
    }
    await eventually('all five', async () => (await client.get(REPLICA_SETS, 'default', 'many')).status?.replicas === 5);
    assert.equal((await client.list(PODS, 'default')).items.length, 5);
  });
});

describe('deletion ranking', () => {
  const now = Date.parse('2024-06-01T12:00:00Z');
  const pod = (name: string, o: { node?: string; phase?: string; readySince?: number; created?: number; restarts?: number; cost?: number; uid?: string } = {}): KubeObject => ({
    metadata: {
      name,
      uid: o.uid ?? name,
      creationTimestamp: rfc3339(o.created ?? now - 86400_000),
      annotations: o.cost !== undefined ? { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } : undefined,
    },
    spec: { nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.readySince !== undefined ? [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(o.readySince) }] : [],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
    },
  });

  it('orders unscheduled < pending < unknown < running, and not ready < ready', () => {
    assert.ok(deleteBefore(pod('a', { phase: 'Running', readySince: now }), pod('b', { node: 'n', phase: 'Pending' }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', phase: 'Pending' }), pod('b', { node: 'n', phase: 'Unknown' }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', phase: 'Unknown' }), pod('b', { node: 'n', phase: 'Running' }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n' }), pod('b', { node: 'n', readySince: now - 1000 }), 0, 0, now));
  });

  it('then deletion cost, doubled-up nodes, time ready in log buckets, restarts and age', () => {
    const ready = now - 3600_000;
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: ready, cost: -5 }), pod('b', { node: 'n', readySince: ready }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: ready }), pod('b', { node: 'm', readySince: ready }), 3, 1, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: now - 10_000 }), pod('b', { node: 'n', readySince: ready }), 0, 0, now));
    // 100 s and 101 s ago fall in one power-of-two bucket: the UID decides, not the second.
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: now - 100_000 }), pod('b', { node: 'n', readySince: now - 101_000 }), 0, 0, now));
    assert.ok(!deleteBefore(pod('b', { node: 'n', readySince: now - 100_000 }), pod('a', { node: 'n', readySince: now - 101_000 }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: ready, restarts: 3 }), pod('b', { node: 'n', readySince: ready }), 0, 0, now));
    assert.ok(deleteBefore(pod('a', { node: 'n', readySince: ready, created: now - 60_000 }), pod('b', { node: 'n', readySince: ready }), 0, 0, now));
  });

  it('podsToDelete ranks by related pods on the same node', () => {
    const pods = [pod('x', { node: 'n1', readySince: now - 3600_000 }), pod('y', { node: 'n2', readySince: now - 3600_000 })];
    const related = [...pods, pod('z', { node: 'n2', readySince: now - 3600_000 })];
    assert.deepEqual(
      podsToDelete(pods, related, 1, now).map((p) => p.metadata!.name),
      ['y'],
    );
    assert.equal(podsToDelete(pods, related, 2, now).length, 2);
  });
});

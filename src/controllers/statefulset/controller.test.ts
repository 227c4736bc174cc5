import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { ApiError } from '../../api/errors.js';
import type { InProcessClient } from '../../client/in-process.js';
import type { ResourceRef } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { newControllerContext, type ControllerContext } from '../context.js';
import { CONTROLLER_REVISIONS, EVENTS, NODES, PODS, STATEFUL_SETS, isPodReady } from '../pods.js';
import { CONTROLLER_REVISION_HASH_LABEL, REVISION_HASH_LABEL, goJson, hashRevisionData } from '../history.js';
import { StatefulSetController } from './controller.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const PVCS: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims' };
const NODE = 'sts-node';

describe('statefulset controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let ctx: ControllerContext;
  let controller: StatefulSetController;

  before(async () => {
    cluster = await startInProcessCluster('statefulset');
    client = cluster.client;
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    ctx = newControllerContext(counting, informers);
    controller = new StatefulSetController(ctx, { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  });

  after(async () => {
    await controller.stop();
    await ctx.recorder('statefulset-controller').flush();
    informers.stop();
    await cluster.stop();
  });

  // ---- fixtures ----

  async function namespace(name: string): Promise<string> {
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  function statefulSet(ns: string, spec: Record<string, unknown> = {}, name = 'web'): KubeObject {
    return {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: ns },
      spec: {
        serviceName: name,
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1' }] } },
        ...spec,
      },
    };
  }

  async function getPod(ns: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await client.get(PODS, ns, name);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  async function podNames(ns: string): Promise<string[]> {
    return (await client.list(PODS, ns)).items.map((p) => p.metadata!.name!).sort();
  }

  /** The kubelet's part for one pod: bound to the node, Running and Ready. */
  async function run(ns: string, name: string): Promise<void> {
    const pod = await eventually(`pod ${ns}/${name}`, () => getPod(ns, name));
    if (!pod.spec?.nodeName) await client.create(PODS, ns, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: NODE } }, { subresource: 'binding' });
    await client.patch(
      PODS,
      ns,
      name,
      'application/merge-patch+json',
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }], podIP: '10.0.0.2' } },
      { subresource: 'status' },
    );
  }

  /** The kubelet finishing a graceful deletion. */
  async function finish(ns: string, name: string): Promise<void> {
    await client.delete(PODS, ns, name, { gracePeriodSeconds: 0 });
  }

  /** One kubelet pass over the namespace: run what is not running, finish what is terminating. */
  async function kubeletPass(ns: string): Promise<void> {
    for (const pod of (await client.list(PODS, ns)).items) {
      const name = pod.metadata!.name!;
      try {
        if (pod.metadata?.deletionTimestamp) await finish(ns, name);
        else if (!isPodReady(pod)) await run(ns, name);
      } catch (err) {
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
      }
    }
  }

  async function sts(ns: string, name = 'web'): Promise<KubeObject> {
    return client.get(STATEFUL_SETS, ns, name);
  }

  async function statusIs(ns: string, want: Record<string, unknown>, name = 'web'): Promise<KubeObject> {
    return eventually(`status of ${ns}/${name} to be ${JSON.stringify(want)}`, async () => {
      const s = await sts(ns, name);
      const ok = Object.entries(want).every(([k, v]) => (s.status?.[k] ?? 0) === v) && s.status?.observedGeneration === s.metadata?.generation;
      return ok ? s : undefined;
    });
  }

  /** One sync of the set now; a status write racing the worker's (409) is fine, the pods are what count. */
  async function syncNow(ns: string): Promise<void> {
    try {
      await controller.reconcile(`${ns}/web`);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
  }

  async function eventMessages(ns: string, reason: string): Promise<string[]> {
    return (await client.list(EVENTS, ns)).items.filter((e) => e.reason === reason).map((e) => e.message);
  }

  // ---- tests ----

  it('OrderedReady creates web-0, then web-1 only once web-0 is Running and Ready', async () => {
    const ns = await namespace('sts-ordered');
    await client.create(
      STATEFUL_SETS,
      ns,
      statefulSet(ns, { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }),
    );
    const web0 = await eventually('web-0', () => getPod(ns, 'web-0'));
    assert.equal(web0.spec.hostname, 'web-0');
    assert.equal(web0.spec.subdomain, 'web');
    assert.equal(web0.metadata?.generateName, 'web-');
    assert.equal(web0.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0');
    assert.equal(web0.metadata?.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.deepEqual(web0.spec.volumes[0], { name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } });
    const claim = await client.get(PVCS, ns, 'data-web-0');
    assert.equal(claim.metadata?.labels?.app, 'web');
    assert.equal(claim.metadata?.ownerReferences, undefined, 'Retain: the claim outlives the set');

    const revs = (await client.list(CONTROLLER_REVISIONS, ns)).items;
    assert.equal(revs.length, 1);
    assert.equal(web0.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL], revs[0].metadata!.name);
    assert.equal(revs[0].metadata!.name, `web-${hashRevisionData(goJson(revs[0].data), 0)}`, 'named as upstream names it');
    assert.equal(revs[0].metadata!.labels![REVISION_HASH_LABEL], revs[0].metadata!.name!.slice('web-'.length));

    // A sync that sees web-0 Pending creates nothing more.
    await statusIs(ns, { replicas: 1, readyReplicas: 0 });
    await syncNow(ns);
    assert.deepEqual(await podNames(ns), ['web-0']);

    await run(ns, 'web-0');
    await eventually('web-1', () => getPod(ns, 'web-1'));
    await statusIs(ns, { replicas: 2, readyReplicas: 1 });
    await syncNow(ns);
    assert.deepEqual(await podNames(ns), ['web-0', 'web-1']);
    await run(ns, 'web-1');
    await run(ns, 'web-2');
    const done = await statusIs(ns, { replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3, collisionCount: 0 });
    assert.equal(done.status.currentRevision, revs[0].metadata!.name);
    assert.equal(done.status.updateRevision, revs[0].metadata!.name);
    assert.deepEqual(
      (await client.list(PVCS, ns)).items.map((c) => c.metadata!.name).sort(),
      ['data-web-0', 'data-web-1', 'data-web-2'],
    );

    const created = await eventually('create events', async () => {
      const m = await eventMessages(ns, 'SuccessfulCreate');
      return m.length === 6 ? m : undefined;
    });
    assert.ok(created.includes('create Pod web-0 in StatefulSet web successful'));
    assert.ok(created.includes('create Claim data-web-0 Pod web-0 in StatefulSet web success'));
  });

  it('scales down from the highest ordinal, one pod at a time', async () => {
    const ns = await namespace('sts-scale-down');
    await client.create(STATEFUL_SETS, ns, statefulSet(ns));
    for (const n of ['web-0', 'web-1', 'web-2']) await run(ns, n);
    await statusIs(ns, { replicas: 3, readyReplicas: 3 });

    await client.patch(STATEFUL_SETS, ns, 'web', 'application/merge-patch+json', { spec: { replicas: 1 } });
    await eventually('web-2 terminating', async () => (await getPod(ns, 'web-2'))?.metadata?.deletionTimestamp);
    // While web-2 terminates, web-1 stays.
    await syncNow(ns);
    assert.equal((await getPod(ns, 'web-1'))?.metadata?.deletionTimestamp, undefined);
    await finish(ns, 'web-2');
    await eventually('web-1 terminating', async () => (await getPod(ns, 'web-1'))?.metadata?.deletionTimestamp);
    await finish(ns, 'web-1');
    await statusIs(ns, { replicas: 1, readyReplicas: 1, currentReplicas: 1 });
    assert.deepEqual(await podNames(ns), ['web-0']);
    const deleted = await eventually('delete events', async () => {
      const m = await eventMessages(ns, 'SuccessfulDelete');
      return m.length === 2 ? m : undefined;
    });
    assert.deepEqual(deleted.sort(), ['delete Pod web-1 in StatefulSet web successful', 'delete Pod web-2 in StatefulSet web successful']);
  });

  it('Parallel creates and deletes all pods at once, from ordinals.start', async () => {
    const ns = await namespace('sts-parallel');
    await client.create(STATEFUL_SETS, ns, statefulSet(ns, { podManagementPolicy: 'Parallel', ordinals: { start: 5 } }));
    await eventually('web-5..7 without any ready', async () => (await podNames(ns)).join() === 'web-5,web-6,web-7');
    const web6 = await client.get(PODS, ns, 'web-6');
    assert.equal(web6.metadata?.labels?.['apps.kubernetes.io/pod-index'], '6');
    await statusIs(ns, { replicas: 3, readyReplicas: 0 });
    await client.patch(STATEFUL_SETS, ns, 'web', 'application/merge-patch+json', { spec: { replicas: 0 } });
    await eventually('all gone', async () => (await podNames(ns)).length === 0);
  });

  it('rolls an update out from the highest ordinal down to the partition, recording revisions', async () => {
    const ns = await namespace('sts-rolling');
    await client.create(STATEFUL_SETS, ns, statefulSet(ns));
    for (const n of ['web-0', 'web-1', 'web-2']) await run(ns, n);
    const first = await statusIs(ns, { replicas: 3, readyReplicas: 3, currentReplicas: 3 });
    const oldRevision = first.status.currentRevision;

    const order: string[] = [];
    const listed = await client.list(PODS, ns);
    const watch = client.watch(PODS, ns, { resourceVersion: listed.resourceVersion }, (type, pod) => {
      if (type === 'MODIFIED' && pod.metadata?.deletionTimestamp && !order.includes(pod.metadata.name!)) order.push(pod.metadata.name!);
    });
    await client.patch(STATEFUL_SETS, ns, 'web', 'application/merge-patch+json', {
      spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } } },
    });
    const partial = await eventually(
      'ordinals 1 and 2 updated',
      async () => {
        await kubeletPass(ns);
        const s = await sts(ns);
        return s.status?.updatedReplicas === 2 && s.status?.readyReplicas === 3 && s.status?.observedGeneration === s.metadata?.generation ? s : undefined;
      },
      1000,
    );
    assert.equal(partial.status.currentRevision, oldRevision, 'not complete below the partition');
    assert.notEqual(partial.status.updateRevision, oldRevision);
    assert.equal(partial.status.currentReplicas, 1);
    const image = async (n: string) => (await client.get(PODS, ns, n)).spec.containers[0].image;
    assert.deepEqual([await image('web-0'), await image('web-1'), await image('web-2')], ['nginx:1', 'nginx:2', 'nginx:2']);
    assert.deepEqual(order, ['web-2', 'web-1'], 'highest ordinal first');

    await client.patch(STATEFUL_SETS, ns, 'web', 'application/merge-patch+json', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
    const done = await eventually(
      'rollout complete',
      async () => {
        await kubeletPass(ns);
        const s = await sts(ns);
        return s.status?.currentRevision === s.status?.updateRevision && s.status?.currentReplicas === 3 && s.status?.readyReplicas === 3 ? s : undefined;
      },
      1000,
    );
    watch.stop();
    assert.deepEqual(order, ['web-2', 'web-1', 'web-0']);
    assert.equal(await image('web-0'), 'nginx:2');
    const revs = (await client.list(CONTROLLER_REVISIONS, ns)).items.sort((a, b) => a.revision - b.revision);
    assert.deepEqual(
      revs.map((r) => [r.metadata!.name, r.revision]),
      [
        [oldRevision, 1],
        [done.status.updateRevision, 2],
      ],
    );
    assert.equal(revs[1].data.spec.template.spec.containers[0].image, 'nginx:2');
  });

  it('recreates a failed pod, saying so', async () => {
    const ns = await namespace('sts-failed');
    await client.create(STATEFUL_SETS, ns, statefulSet(ns, { replicas: 1 }));
    const first = await eventually('web-0', () => getPod(ns, 'web-0'));
    await client.patch(PODS, ns, 'web-0', 'application/merge-patch+json', { status: { phase: 'Failed' } }, { subresource: 'status' });
    const second = await eventually('a new web-0', async () => {
      const p = await getPod(ns, 'web-0');
      return p && p.metadata?.uid !== first.metadata?.uid ? p : undefined;
    });
    assert.equal(second.status?.phase, 'Pending');
    const messages = await eventually('RecreatingFailedPod', async () => (await eventMessages(ns, 'RecreatingFailedPod'))[0]);
    assert.equal(messages, `StatefulSet ${ns}/web is recreating failed Pod web-0`);
  });

  it('waits minReadySeconds before counting a ready pod available', async () => {
    const ns = await namespace('sts-min-ready');
    await client.create(STATEFUL_SETS, ns, statefulSet(ns, { replicas: 1, minReadySeconds: 1 }));
    await run(ns, 'web-0');
    await statusIs(ns, { readyReplicas: 1, availableReplicas: 0 });
    await statusIs(ns, { readyReplicas: 1, availableReplicas: 1 });
  });

  it('writes nothing when the world is settled', async () => {
    const sets = (await client.list(STATEFUL_SETS, '')).items;
    await eventually(
      'every StatefulSet settled',
      async () => {
        for (const s of sets) await kubeletPass(s.metadata!.namespace!);
        for (const s of sets) {
          const cur = await sts(s.metadata!.namespace!, s.metadata!.name!);
          const st = cur.status ?? {};
          const want = cur.spec.replicas;
          if (st.observedGeneration !== cur.metadata?.generation || st.replicas !== want || (st.availableReplicas ?? 0) !== want || st.currentRevision !== st.updateRevision) return false;
          if ((await podNames(s.metadata!.namespace!)).length !== want) return false;
        }
        return true;
      },
      1000,
    );
    await ctx.recorder('statefulset-controller').flush();
    const writes = counting.writes;
    const attempts = counting.attempts;
    for (const s of sets) await controller.reconcile(`${s.metadata!.namespace}/${s.metadata!.name}`);
    await ctx.recorder('statefulset-controller').flush();
    assert.equal(counting.attempts, attempts, 'no write attempted');
    assert.equal(counting.writes, writes, 'no writes');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../api/types.js';
import { InProcessClient } from '../client/in-process.js';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { TaintEvictionController, toleratesTaint } from './taint-eviction.js';
import { EVENTS, NODES, PODS, podCondition, rfc3339 } from './pods.js';

const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const NS = 'taints';

describe('taint eviction controller', () => {
  let cluster: InProcessCluster;
  let client: InProcessClient;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: TaintEvictionController;

  before(async () => {
    cluster = await startInProcessCluster('taint-eviction');
    client = cluster.client;
    await client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    counting = new CountingClient(cluster.server);
    informers = new SharedInformers(counting);
    controller = new TaintEvictionController(newControllerContext(counting, informers), { retryBaseDelayMs: 5, retryMaxDelayMs: 200 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await cluster.stop();
  });

  async function node(name: string): Promise<void> {
    await client.create(NODES, '', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  }

  async function taint(name: string, taints: Record<string, unknown>[]): Promise<void> {
    await client.patch(NODES, '', name, 'application/merge-patch+json', { spec: { taints } });
  }

  async function pod(name: string, nodeName: string, tolerations: Record<string, unknown>[] = []): Promise<void> {
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }], tolerations } });
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: nodeName } }, { subresource: 'binding' });
  }

  const get = (name: string) => client.get(PODS, NS, name);
  const evicted = (name: string) =>
    eventually(`${name} evicted`, async () => {
      const p = await get(name);
      return p.metadata?.deletionTimestamp ? p : undefined;
    });

  it('matches tolerations to taints as upstream', () => {
    const t = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
    assert.equal(toleratesTaint({ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }, t), true);
    assert.equal(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'cpu' }, t), false);
    assert.equal(toleratesTaint({ key: 'dedicated', operator: 'Exists' }, t), true);
    assert.equal(toleratesTaint({ operator: 'Exists' }, t), true);
    assert.equal(toleratesTaint({ operator: 'Exists', effect: 'NoSchedule' }, t), false);
    assert.equal(toleratesTaint({ key: 'other', operator: 'Exists' }, t), false);
  });

  it('deletes at once what does not tolerate a NoExecute taint, later what tolerates it for a while', async () => {
    await node('n1');
    const gpu = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
    await pod('intolerant', 'n1');
    await pod('wrong-effect', 'n1', [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }]);
    await pod('brief', 'n1', [{ ...gpu, tolerationSeconds: 2 }]);
    await pod('forever', 'n1', [{ key: 'dedicated', operator: 'Exists' }]);
    const added = rfc3339(Date.now());
    await taint('n1', [{ ...gpu, timeAdded: added }]);

    const intolerant = await evicted('intolerant');
    await evicted('wrong-effect');
    assert.equal((await get('brief')).metadata?.deletionTimestamp, undefined, 'two seconds are not over');
    const cond = podCondition(intolerant, 'DisruptionTarget');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'DeletionByTaintManager');
    assert.equal(cond?.message, 'Taint manager: deleting due to NoExecute taint');
    const ev = await eventually('eviction event', async () => (await client.list(EVENTS, NS)).items.find((e) => e.involvedObject?.name === 'intolerant'));
    assert.equal(ev.reason, 'TaintManagerEviction');
    assert.equal(ev.message, `Marking for deletion Pod ${NS}/intolerant`);

    const brief = await evicted('brief');
    assert.ok(Date.parse(podCondition(brief, 'DisruptionTarget')!.lastTransitionTime!) >= Date.parse(added) + 2000);
    assert.equal((await get('forever')).metadata?.deletionTimestamp, undefined);
  });

  it('cancels a scheduled deletion when the taint goes', async () => {
    await node('n2');
    await pod('reprieve', 'n2', [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]);
    await taint('n2', [{ key: 'maintenance', effect: 'NoExecute', timeAdded: rfc3339(Date.now()) }]);
    // Once the deletion is scheduled (the node reconciled), take the taint off again.
    await eventually('n2 seen tainted', async () => (informers.informer(NODES).get('n2')?.spec?.taints?.length ?? 0) > 0);
    await controller.reconcile('n2');
    await taint('n2', []);
    const ev = await eventually('cancel event', async () => (await client.list(EVENTS, NS)).items.find((e) => e.involvedObject?.name === 'reprieve'));
    assert.equal(ev.reason, 'TaintManagerEviction');
    assert.equal(ev.message, `Cancelling deletion of Pod ${NS}/reprieve`);
    assert.equal((await get('reprieve')).metadata?.deletionTimestamp, undefined);
  });

  it('counts from when it saw a taint without timeAdded, and from the binding for a pod that came later', async () => {
    await node('n3');
    await taint('n3', [{ key: 'old', effect: 'NoExecute', timeAdded: rfc3339(Date.now() - 3600_000) }, { key: 'bare', effect: 'NoExecute' }]);
    await pod('late', 'n3', [
      { key: 'old', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 },
      { key: 'bare', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 },
    ]);
    // The hour-old taint does not make a pod bound just now overdue; the bare one lets it stay a second.
    await eventually('late seen bound', async () => informers.informer(PODS).get(`${NS}/late`)?.spec?.nodeName === 'n3');
    await controller.reconcile('n3');
    assert.equal((await get('late')).metadata?.deletionTimestamp, undefined);
    await evicted('late');
  });

  it('writes nothing when the world is settled', async () => {
    await eventually('a pass without writes', async () => {
      const writes = counting.writes;
      for (const n of (await client.list(NODES, '')).items) await controller.reconcile(n.metadata!.name!);
      for (const p of (await client.list(PODS, NS)).items as KubeObject[]) await controller.reconcile(`pod:${NS}/${p.metadata!.name}`);
      return counting.writes === writes;
    }, 20);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../client/interface.js';
import { SharedInformers } from '../client/shared-informers.js';
import { CountingClient, eventually, startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { newControllerContext } from './context.js';
import { NAMESPACES, PODS } from './pods.js';
import { RESOURCE_QUOTAS, ResourceQuotaController } from './resourcequota.js';

const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets' };
const NS = 'rq';

describe('resourcequota controller', () => {
  let c: InProcessCluster;
  let counting: CountingClient;
  let informers: SharedInformers;
  let controller: ResourceQuotaController;

  before(async () => {
    c = await startInProcessCluster('resourcequota');
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    counting = new CountingClient(c.server);
    informers = new SharedInformers(counting);
    controller = new ResourceQuotaController(newControllerContext(counting, informers), { retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await c.stop();
  });

  const used = async (name: string) => (await c.client.get(RESOURCE_QUOTAS, NS, name)).status?.used;
  const pod = (name: string, cpu: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }] } });

  it('fills status.hard and status.used from what exists, and recalculates after deletes and finished pods', async () => {
    // Objects first: they were never charged, the controller counts them when the quota appears.
    await c.client.create(PODS, NS, pod('a', '100m'));
    await c.client.create(PODS, NS, pod('b', '250m'));
    await c.client.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
    await c.client.create(RESOURCE_QUOTAS, NS, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'q' },
      spec: { hard: { pods: '10', 'requests.cpu': '2', 'count/secrets': '5', 'count/pods': '10' } },
    });
    const q = await eventually('status', async () => {
      const o = await c.client.get(RESOURCE_QUOTAS, NS, 'q');
      return o.status?.used ? o : undefined;
    });
    assert.deepEqual(q.status, {
      hard: { 'count/pods': '10', 'count/secrets': '5', pods: '10', 'requests.cpu': '2' },
      used: { 'count/pods': '2', 'count/secrets': '1', pods: '2', 'requests.cpu': '350m' },
    });

    await c.client.delete(PODS, NS, 'a');
    await eventually('a released', async () => (await used('q'))?.pods === '1');
    assert.deepEqual(await used('q'), { 'count/pods': '1', 'count/secrets': '1', pods: '1', 'requests.cpu': '250m' });

    // A finished pod stays stored (count/pods) but uses nothing else.
    await c.client.patch(PODS, NS, 'b', 'application/merge-patch+json', { status: { phase: 'Succeeded' } }, { subresource: 'status' });
    await eventually('b finished', async () => (await used('q'))?.pods === '0');
    assert.deepEqual(await used('q'), { 'count/pods': '1', 'count/secrets': '1', pods: '0', 'requests.cpu': '0' });

    await c.client.delete(SECRETS, NS, 's');
    await eventually('secret released', async () => (await used('q'))?.['count/secrets'] === '0');
  });

  it('follows a new spec.hard', async () => {
    await c.client.patch(RESOURCE_QUOTAS, NS, 'q', 'application/merge-patch+json', { spec: { hard: { pods: '3', 'requests.cpu': null, 'count/secrets': null, 'count/pods': null } } });
    const q = await eventually('new hard', async () => {
      const o = await c.client.get(RESOURCE_QUOTAS, NS, 'q');
      return JSON.stringify(o.status?.hard) === JSON.stringify({ pods: '3' }) ? o : undefined;
    });
    assert.deepEqual(q.status?.used, { pods: '0' });
  });

  it('writes nothing when reconciling a settled world again', async () => {
    await eventually('settled', async () => (await used('q'))?.pods === '0');
    const before = counting.attempts;
    for (const q of (await c.client.list(RESOURCE_QUOTAS, NS)).items) await controller.reconcile(`${NS}/${q.metadata!.name}`);
    assert.equal(counting.attempts, before);
  });
});

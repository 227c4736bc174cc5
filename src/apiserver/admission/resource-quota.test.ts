import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { ResourceRef } from '../../client/interface.js';
import { SharedInformers } from '../../client/shared-informers.js';
import { eventually, startInProcessCluster, type InProcessCluster, refusal } from '../../../test/harness/in-process.js';
import { newControllerContext } from '../../controllers/context.js';
import { NAMESPACES, PODS, SERVICES } from '../../controllers/pods.js';
import { RESOURCE_QUOTAS, ResourceQuotaController } from '../../controllers/resourcequota.js';

const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments' };

const pod = (name: string, resources?: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', ...(resources ? { resources } : {}) }], ...spec },
});


describe('ResourceQuota admission', () => {
  let c: InProcessCluster;
  let informers: SharedInformers;
  let controller: ResourceQuotaController;

  before(async () => {
    c = await startInProcessCluster('quota-admission');
    informers = new SharedInformers(c.client);
    controller = new ResourceQuotaController(newControllerContext(c.client, informers), { retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    await controller.start();
  });

  after(async () => {
    await controller.stop();
    informers.stop();
    await c.stop();
  });

  /** A namespace with one quota whose status the controller has filled in. */
  async function quotaIn(ns: string, spec: Record<string, unknown>, name = 'q'): Promise<KubeObject> {
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await c.client.create(RESOURCE_QUOTAS, ns, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec });
    return eventually(`quota ${ns}/${name} status`, async () => {
      const q = await c.client.get(RESOURCE_QUOTAS, ns, name);
      return q.status?.used ? q : undefined;
    });
  }

  it('counts objects and refuses the one over the limit with upstream’s message', async () => {
    const q = await quotaIn('quota-counts', { hard: { pods: '2', configmaps: '1', 'count/deployments.apps': '0' } });
    assert.deepEqual(q.status, { hard: { configmaps: '1', 'count/deployments.apps': '0', pods: '2' }, used: { configmaps: '0', 'count/deployments.apps': '0', pods: '0' } });
    await c.client.create(PODS, 'quota-counts', pod('a'));
    await c.client.create(PODS, 'quota-counts', pod('b'));
    const err = await refusal(c.client.create(PODS, 'quota-counts', pod('c')));
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.message, 'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
    await c.client.create(CONFIG_MAPS, 'quota-counts', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' } });
    const cm = await refusal(c.client.create(CONFIG_MAPS, 'quota-counts', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two' } }));
    assert.equal(cm.message, 'configmaps "two" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');
    const dep = await refusal(
      c.client.create(DEPLOYMENTS, 'quota-counts', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      }),
    );
    assert.equal(dep.message, 'deployments.apps "d" is forbidden: exceeded quota: q, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0');
    const charged = await c.client.get(RESOURCE_QUOTAS, 'quota-counts', 'q');
    assert.deepEqual(charged.status?.used, { configmaps: '1', 'count/deployments.apps': '0', pods: '2' });
  });

  it('charges cpu and memory, and refuses pods that leave a constrained resource unset', async () => {
    await quotaIn('quota-compute', { hard: { 'requests.cpu': '1', 'requests.memory': '1Gi', 'limits.cpu': '2' } });
    const err = await refusal(c.client.create(PODS, 'quota-compute', pod('bare')));
    assert.equal(err.message, 'pods "bare" is forbidden: failed quota: q: must specify limits.cpu for: c; requests.cpu for: c; requests.memory for: c');
    const res = { requests: { cpu: '400m', memory: '512Mi' }, limits: { cpu: '800m' } };
    await c.client.create(PODS, 'quota-compute', pod('one', res));
    await c.client.create(PODS, 'quota-compute', pod('two', res));
    const over = await refusal(c.client.create(PODS, 'quota-compute', pod('three', res)));
    assert.equal(
      over.message,
      'pods "three" is forbidden: exceeded quota: q, requested: limits.cpu=800m,requests.cpu=400m,requests.memory=512Mi, used: limits.cpu=1600m,requests.cpu=800m,requests.memory=1Gi, limited: limits.cpu=2,requests.cpu=1,requests.memory=1Gi',
    );
    const q = await c.client.get(RESOURCE_QUOTAS, 'quota-compute', 'q');
    assert.deepEqual(q.status?.used, { 'limits.cpu': '1600m', 'requests.cpu': '800m', 'requests.memory': '1Gi' });
  });

  it('admits exactly as many of ten parallel creates as the quota allows', async () => {
    await quotaIn('quota-race', { hard: { pods: '3' } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => c.client.create(PODS, 'quota-race', pod(`p${i}`))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as ApiError).code, 403);
    assert.equal((await c.client.list(PODS, 'quota-race')).items.length, 3);
    assert.deepEqual((await c.client.get(RESOURCE_QUOTAS, 'quota-race', 'q')).status?.used, { pods: '3' });
  });

  it('charges nothing for a dry run, and gives back the charge of a create the store refuses', async () => {
    await quotaIn('quota-refund', { hard: { pods: '1' } });
    await c.client.create(PODS, 'quota-refund', pod('dry'), { dryRun: true });
    assert.deepEqual((await c.client.get(RESOURCE_QUOTAS, 'quota-refund', 'q')).status?.used, { pods: '0' });
    await c.client.create(PODS, 'quota-refund', pod('x'));
    await c.client.patch(RESOURCE_QUOTAS, 'quota-refund', 'q', 'application/merge-patch+json', { spec: { hard: { pods: '2' } } });
    await eventually('hard raised', async () => (await c.client.get(RESOURCE_QUOTAS, 'quota-refund', 'q')).status?.hard?.pods === '2');
    const dup = await refusal(c.client.create(PODS, 'quota-refund', pod('x')));
    assert.equal(dup.code, 409);
    assert.deepEqual((await c.client.get(RESOURCE_QUOTAS, 'quota-refund', 'q')).status?.used, { pods: '1' });
  });

  it('scopes: BestEffort and NotBestEffort quotas each count only their pods; terminating pods by activeDeadlineSeconds', async () => {
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quota-scopes' } });
    for (const [name, scopes] of [['best', ['BestEffort']], ['notbest', ['NotBestEffort']], ['term', ['Terminating']]] as const) {
      await c.client.create(RESOURCE_QUOTAS, 'quota-scopes', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard: { pods: '1' }, scopes } });
    }
    await eventually('scoped quotas filled', async () => {
      const qs = (await c.client.list(RESOURCE_QUOTAS, 'quota-scopes')).items;
      return qs.length === 3 && qs.every((q) => q.status?.used);
    });
    await c.client.create(PODS, 'quota-scopes', pod('be'));
    const err = await refusal(c.client.create(PODS, 'quota-scopes', pod('be2')));
    assert.equal(err.message, 'pods "be2" is forbidden: exceeded quota: best, requested: pods=1, used: pods=1, limited: pods=1');
    await c.client.create(PODS, 'quota-scopes', pod('burst', { requests: { cpu: '10m' } }, { activeDeadlineSeconds: 60 }));
    const used = Object.fromEntries((await c.client.list(RESOURCE_QUOTAS, 'quota-scopes')).items.map((q) => [q.metadata!.name, q.status?.used?.pods]));
    assert.deepEqual(used, { best: '1', notbest: '1', term: '1' });
  });

  it('services: node ports and load balancers, charged again when a Service changes type', async () => {
    await quotaIn('quota-svc', { hard: { services: '5', 'services.loadbalancers': '1', 'services.nodeports': '2' } });
    const svc = (name: string, type: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type, selector: { a: 'b' }, ports: [{ port: 80 }] } });
    await c.client.create(SERVICES, 'quota-svc', svc('lb', 'LoadBalancer'));
    await c.client.create(SERVICES, 'quota-svc', svc('plain', 'ClusterIP'));
    const err = await refusal(c.client.patch(SERVICES, 'quota-svc', 'plain', 'application/merge-patch+json', { spec: { type: 'LoadBalancer' } }));
    assert.equal(err.message, 'services "plain" is forbidden: exceeded quota: q, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1');
    await c.client.patch(SERVICES, 'quota-svc', 'plain', 'application/merge-patch+json', { spec: { type: 'NodePort' } });
    assert.deepEqual((await c.client.get(RESOURCE_QUOTAS, 'quota-svc', 'q')).status?.used, { services: '2', 'services.loadbalancers': '1', 'services.nodeports': '2' });
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CountingClient, eventually, startInProcessCluster } from '../../test/harness/in-process.js';
import type { KubeObject } from '../api/types.js';
import { SharedInformers } from '../client/shared-informers.js';
import { newControllerContext } from './context.js';
import { ClusterRoleAggregationController } from './clusterrole-aggregation.js';

const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' };
const role = (name: string, labels: Record<string, string>, rules: object[], aggregateLabel?: string): KubeObject =>
  ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules,
    ...(aggregateLabel ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel]: 'true' } }] } } : {}),
  }) as KubeObject;

test('aggregated ClusterRoles hold the union of matching roles, by name, each rule once; a settled world writes nothing', async () => {
  const c = await startInProcessCluster('cragg');
  const client = new CountingClient(c.server);
  const informers = new SharedInformers(client);
  const ctrl = new ClusterRoleAggregationController(newControllerContext(client, informers));
  informers.start();
  await ctrl.start();
  try {
    const pods = { verbs: ['get'], apiGroups: [''], resources: ['pods'] };
    const secrets = { verbs: ['list'], apiGroups: [''], resources: ['secrets'] };
    await c.client.create(CLUSTER_ROLES, '', role('b-part', { 'example.com/agg': 'true' }, [secrets, pods]));
    await c.client.create(CLUSTER_ROLES, '', role('a-part', { 'example.com/agg': 'true' }, [pods]));
    await c.client.create(CLUSTER_ROLES, '', role('combined', {}, [], 'example.com/agg'));
    const rulesOf = async (n: string) => ((await c.client.get(CLUSTER_ROLES, '', n)) as { rules?: object[] }).rules ?? [];
    await eventually('combined aggregated', async () => (await rulesOf('combined')).length === 2);
    assert.deepEqual(await rulesOf('combined'), [pods, secrets]);
    // the bootstrap roles aggregate too: admin gets edit's and view's rules
    await eventually('admin aggregated', async () => (await rulesOf('admin')).some((r) => JSON.stringify(r).includes('"roles"')));
    assert.ok((await rulesOf('view')).some((r) => JSON.stringify(r).includes('"pods"')));

    await c.client.delete(CLUSTER_ROLES, '', 'b-part');
    await eventually('secrets dropped', async () => (await rulesOf('combined')).length === 1);

    await new Promise((r) => setTimeout(r, 100));
    const before = client.attempts;
    for (const r of informers.informer(CLUSTER_ROLES).list()) await ctrl.reconcile(r.metadata!.name!);
    assert.equal(client.attempts, before, 'reconciling a settled world writes nothing');
  } finally {
    await ctrl.stop();
    informers.stop();
    await c.stop();
  }
});

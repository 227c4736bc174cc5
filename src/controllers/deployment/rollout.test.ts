import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { DEPLOYMENTS, PODS, REPLICA_SETS } from '../pods.js';
import {
  assertIncludes,
  BROKEN_IMAGE,
  condition,
  createNamespace,
  deploymentEvents,
  deploymentObject,
  deploymentWhen,
  replicaSetsOf,
  rolledOut,
  setImage,
  startDeploymentFixture,
  type DeploymentFixture,
} from './test-fixture.js';

const HASH = /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/;

/**
 * Watches a namespace's ReplicaSets and checks, on every state the watch shows, that the pods
 * wanted stay within replicas + maxSurge and the available ones at least replicas - maxUnavailable.
 */
function checkRollingInvariants(client: Client, ns: string, replicas: number, surge: number, unavailable: number) {
  const state = new Map<string, KubeObject>();
  const violations: string[] = [];
  let maxWanted = 0;
  let mixed = 0;
  const handle = client.watch(REPLICA_SETS, ns, {}, (type, rs) => {
    if (type === 'DELETED') state.delete(rs.metadata!.uid!);
    else if (type === 'ADDED' || type === 'MODIFIED') state.set(rs.metadata!.uid!, rs);
    else return;
    const all = [...state.values()];
    const wanted = all.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
    const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
    maxWanted = Math.max(maxWanted, wanted);
    if (all.filter((r) => (r.spec?.replicas ?? 0) > 0).length > 1) mixed++;
    const shape = all.map((r) => `${r.metadata!.name}:${r.spec?.replicas}/${r.status?.availableReplicas ?? 0}`).join(' ');
    if (wanted > replicas + surge) violations.push(`wanted ${wanted} > ${replicas + surge}: ${shape}`);
    if (available < replicas - unavailable) violations.push(`available ${available} < ${replicas - unavailable}: ${shape}`);
  });
  return {
    stop: () => handle.stop(),
    violations,
    maxWanted: () => maxWanted,
    mixed: () => mixed,
  };
}

describe('Deployment controller: rollouts', () => {
  let fx: DeploymentFixture;
  let client: Client;

  before(async () => {
    fx = await startDeploymentFixture('deploy-rollout');
    client = fx.client;
  });
  after(async () => fx.stop());

  it('creates the ReplicaSet <name>-<hash> and reports the Deployment available and complete', async () => {
    const ns = await createNamespace(client, 'dr-create');
    const d = await client.create(
      DEPLOYMENTS,
      ns,
      deploymentObject('web', { replicas: 3, annotations: { 'kubernetes.io/change-cause': 'first', team: 'a' }, spec: { minReadySeconds: 0 } }),
    );
    const done = await deploymentWhen(client, ns, 'web', 'rolled out', (x) => rolledOut(x) && condition(x, 'Progressing')?.reason === 'NewReplicaSetAvailable');
    const [rs] = await replicaSetsOf(client, d);
    const hash = rs.metadata!.labels!['pod-template-hash'];
    assert.match(hash, HASH);
    assert.equal(rs.metadata!.name, `web-${hash}`);
    assert.deepEqual(rs.metadata!.labels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(rs.spec.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.deepEqual(rs.spec.template.metadata.labels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(rs.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(rs.metadata!.annotations, {
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
      'kubernetes.io/change-cause': 'first',
      team: 'a',
    });
    assert.equal(rs.spec.replicas, 3);
    const pods = (await client.list(PODS, ns)).items;
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => p.metadata?.labels?.['pod-template-hash'] === hash));

    assert.equal(done.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    assert.deepEqual(
      { ...done.status, conditions: undefined },
      { observedGeneration: done.metadata!.generation, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: undefined },
    );
    const [first, second] = done.status.conditions;
    assert.deepEqual(
      [first.type, first.status, first.reason, first.message],
      ['Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'],
    );
    assert.deepEqual(
      [second.type, second.status, second.reason, second.message],
      ['Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "web-${hash}" has successfully progressed.`],
    );
    assert.ok(first.lastUpdateTime && first.lastTransitionTime && second.lastUpdateTime && second.lastTransitionTime);

    const events = await deploymentEvents(fx, ns, 'web');
    assert.deepEqual(
      events.map((e) => [e.type, e.reason, e.message]),
      [['Normal', 'ScalingReplicaSet', `Scaled up replica set web-${hash} to 3`]],
    );
  });

  it('rolls out a new image within maxSurge and maxUnavailable at every step', async () => {
    const ns = await createNamespace(client, 'dr-rolling');
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('api', { replicas: 10, strategy }));
    await deploymentWhen(client, ns, 'api', 'first rollout', rolledOut);
    const check = checkRollingInvariants(client, ns, 10, 3, 2);
    try {
      await setImage(client, ns, 'api', 'nginx:1.26', { 'kubernetes.io/change-cause': 'kubectl set image' });
      await deploymentWhen(client, ns, 'api', 'second rollout', (x) => rolledOut(x) && x.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2');
    } finally {
      check.stop();
    }
    assert.deepEqual(check.violations, []);
    assert.equal(check.maxWanted(), 13, 'the surge was used');
    assert.ok(check.mixed() > 0, 'old and new ran side by side');

    const [old, cur] = await replicaSetsOf(client, d);
    assert.equal(old.spec.replicas, 0);
    assert.equal(old.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
    assert.equal(cur.spec.replicas, 10);
    assert.equal(cur.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    assert.equal(cur.metadata!.annotations!['kubernetes.io/change-cause'], 'kubectl set image');
    assert.equal(cur.spec.template.spec.containers[0].image, 'nginx:1.26');
    const messages = (await deploymentEvents(fx, ns, 'api')).map((e) => e.message as string);
    assertIncludes(messages, [`Scaled up replica set ${cur.metadata!.name} to 3`, `Scaled down replica set ${old.metadata!.name} to 8 from 10`]);
    assert.ok(messages.every((m) => /^Scaled (up|down) replica set api-[a-z0-9]+ to \d+( from \d+)?$/.test(m)), messages.join('\n'));
  });

  it('resolves percentages as upstream: surge rounded up, unavailable rounded down', async () => {
    const ns = await createNamespace(client, 'dr-percent');
    // 4 replicas, 25%: surge 1, unavailable 1. 30% of 4: surge 2 (1.2 up), unavailable 1 (1.2 down).
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%', maxUnavailable: '30%' } };
    await client.create(DEPLOYMENTS, ns, deploymentObject('pct', { replicas: 4, strategy }));
    const first = await deploymentWhen(client, ns, 'pct', 'first rollout', rolledOut);
    const [rs] = await replicaSetsOf(client, first);
    assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '6');
    const check = checkRollingInvariants(client, ns, 4, 2, 1);
    try {
      await setImage(client, ns, 'pct', 'nginx:1.26');
      await deploymentWhen(client, ns, 'pct', 'second rollout', (x) => rolledOut(x) && x.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2');
    } finally {
      check.stop();
    }
    assert.deepEqual(check.violations, []);
    assert.equal(check.maxWanted(), 6);
  });

  it('Recreate: old pods are all gone before the new ReplicaSet exists', async () => {
    const ns = await createNamespace(client, 'dr-recreate');
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('db', { replicas: 2, strategy: { type: 'Recreate' } }));
    await deploymentWhen(client, ns, 'db', 'first rollout', rolledOut);
    fx.kubelet.holdTerminating = true;
    try {
      const changed = await setImage(client, ns, 'db', 'postgres:16');
      // The controller has seen the old ReplicaSet at zero (its status says so) with pods still terminating.
      await deploymentWhen(client, ns, 'db', 'old scaled down', (x) => x.status?.observedGeneration === changed.metadata!.generation && !x.status?.replicas);
      const pods = (await client.list(PODS, ns)).items;
      assert.equal(pods.length, 2);
      assert.ok(pods.every((p) => p.metadata?.deletionTimestamp));
      assert.equal((await replicaSetsOf(client, d)).length, 1, 'no new ReplicaSet while old pods terminate');
      assert.equal(condition(await client.get(DEPLOYMENTS, ns, 'db'), 'Available')?.status, 'False');
    } finally {
      await fx.kubelet.release();
    }
    await deploymentWhen(client, ns, 'db', 'second rollout', (x) => rolledOut(x) && x.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2');
    const [old, cur] = await replicaSetsOf(client, d);
    assert.equal(old.spec.replicas, 0);
    assert.equal(cur.spec.replicas, 2);
    assert.equal(cur.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '2');
    const messages = (await deploymentEvents(fx, ns, 'db')).map((e) => e.message);
    assertIncludes(messages, [`Scaled down replica set ${old.metadata!.name} to 0 from 2`, `Scaled up replica set ${cur.metadata!.name} to 2`]);
  });

  it('scales a rollout in progress in proportion to its ReplicaSets', async () => {
    const ns = await createNamespace(client, 'dr-proportional');
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('prop', { replicas: 10, strategy }));
    await deploymentWhen(client, ns, 'prop', 'first rollout', rolledOut);
    // New pods never become ready: the rollout stops at old 8 + new 5 (13 = 10 + surge; 8 = 10 - unavailable).
    await setImage(client, ns, 'prop', BROKEN_IMAGE);
    await deploymentWhen(client, ns, 'prop', 'stuck mid-rollout', (x) => x.status?.replicas === 13 && x.status?.updatedReplicas === 5 && x.status?.availableReplicas === 8);
    await client.patch(DEPLOYMENTS, ns, 'prop', 'application/merge-patch+json', { spec: { replicas: 20 } });
    // 23 allowed: old 8 * 23/13 = 14.2 -> 14, new 5 * 23/13 = 8.8 -> 9.
    await deploymentWhen(client, ns, 'prop', 'scaled', (x) => x.status?.replicas === 23);
    const [old, cur] = await replicaSetsOf(client, d);
    assert.deepEqual([old.spec.replicas, cur.spec.replicas], [14, 9]);
    for (const rs of [old, cur]) {
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '20');
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '23');
    }
    const messages = (await deploymentEvents(fx, ns, 'prop')).map((e) => e.message);
    assertIncludes(messages, [`Scaled up replica set ${old.metadata!.name} to 14 from 8`, `Scaled up replica set ${cur.metadata!.name} to 9 from 5`]);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import type { Client } from '../../client/interface.js';
import { eventually } from '../../../test/harness/in-process.js';
import { computeHash } from '../controller-utils.js';
import { DEPLOYMENTS, REPLICA_SETS } from '../pods.js';
import {
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

const revision = (o: KubeObject) => o.metadata?.annotations?.['deployment.kubernetes.io/revision'];

describe('Deployment controller: pause, undo, history, deadlines, scale', () => {
  let fx: DeploymentFixture;
  let client: Client;

  before(async () => {
    fx = await startDeploymentFixture('deploy-life');
    client = fx.client;
  });
  after(async () => fx.stop());

  it('rolls nothing out while paused, scales all the same, and rolls out on resume', async () => {
    const ns = await createNamespace(client, 'dl-pause');
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('p', { replicas: 2 }));
    await deploymentWhen(client, ns, 'p', 'first rollout', rolledOut);
    await client.patch(DEPLOYMENTS, ns, 'p', 'application/merge-patch+json', { spec: { paused: true } });
    const paused = await deploymentWhen(client, ns, 'p', 'paused condition', (x) => condition(x, 'Progressing')?.reason === 'DeploymentPaused');
    assert.deepEqual(
      [condition(paused, 'Progressing')?.status, condition(paused, 'Progressing')?.message],
      ['Unknown', 'Deployment is paused'],
    );

    const changed = await setImage(client, ns, 'p', 'nginx:1.26');
    await client.patch(DEPLOYMENTS, ns, 'p', 'application/merge-patch+json', { spec: { replicas: 4 } });
    const scaled = await deploymentWhen(client, ns, 'p', 'scaled while paused', (x) => x.status?.observedGeneration === changed.metadata!.generation! + 1 && x.status?.availableReplicas === 4);
    // No ReplicaSet has the paused template yet: none of the pods is "updated" (kubectl: 0 out of 4 new replicas).
    assert.equal(scaled.status.updatedReplicas, undefined);
    const whilePaused = await replicaSetsOf(client, d);
    assert.equal(whilePaused.length, 1, 'no new ReplicaSet while paused');
    assert.equal(whilePaused[0].spec.replicas, 4);
    assert.equal(whilePaused[0].spec.template.spec.containers[0].image, 'nginx:1.25');

    await client.patch(DEPLOYMENTS, ns, 'p', 'application/merge-patch+json', { spec: { paused: null } });
    const done = await deploymentWhen(client, ns, 'p', 'rolled out after resume', (x) => rolledOut(x) && revision(x) === '2' && condition(x, 'Progressing')?.reason === 'NewReplicaSetAvailable');
    assert.equal(done.status.updatedReplicas, 4);
    const after = await replicaSetsOf(client, d);
    assert.deepEqual(
      after.map((rs) => [rs.spec.replicas, rs.spec.template.spec.containers[0].image]),
      [
        [0, 'nginx:1.25'],
        [4, 'nginx:1.26'],
      ],
    );
  });

  it('a template reverted to an old one (kubectl rollout undo) reuses its ReplicaSet under a new revision', async () => {
    const ns = await createNamespace(client, 'dl-undo');
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('u', { replicas: 2, annotations: { 'kubernetes.io/change-cause': 'v1' } }));
    await deploymentWhen(client, ns, 'u', 'first rollout', rolledOut);
    await setImage(client, ns, 'u', 'nginx:1.26', { 'kubernetes.io/change-cause': 'v2' });
    await deploymentWhen(client, ns, 'u', 'second rollout', (x) => rolledOut(x) && revision(x) === '2');
    const [v1] = await replicaSetsOf(client, d);

    // What kubectl rollout undo sends: revision 1's template without its hash label, and its annotations.
    const template = structuredClone(v1.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    const current = await client.get(DEPLOYMENTS, ns, 'u');
    const annotations = { ...current.metadata!.annotations, 'kubernetes.io/change-cause': v1.metadata!.annotations!['kubernetes.io/change-cause'] };
    await client.patch(DEPLOYMENTS, ns, 'u', 'application/json-patch+json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);
    const undone = await deploymentWhen(client, ns, 'u', 'undone', (x) => rolledOut(x) && revision(x) === '3');
    const rss = await replicaSetsOf(client, d);
    assert.equal(rss.length, 2, 'no third ReplicaSet');
    const reused = rss.find((rs) => rs.metadata!.uid === v1.metadata!.uid)!;
    assert.equal(revision(reused), '3');
    assert.equal(reused.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(reused.metadata!.annotations!['kubernetes.io/change-cause'], 'v1');
    assert.equal(reused.spec.replicas, 2);
    assert.equal(condition(undone, 'Progressing')?.message, `ReplicaSet "${v1.metadata!.name}" has successfully progressed.`);

    // Undo again, back to the revision-2 template: history grows on that ReplicaSet too.
    const v2 = rss.find((rs) => rs.metadata!.uid !== v1.metadata!.uid)!;
    const t2 = structuredClone(v2.spec.template);
    delete t2.metadata.labels['pod-template-hash'];
    await client.patch(DEPLOYMENTS, ns, 'u', 'application/json-patch+json', [{ op: 'replace', path: '/spec/template', value: t2 }]);
    await deploymentWhen(client, ns, 'u', 'undone twice', (x) => rolledOut(x) && revision(x) === '4');
    const again = await client.get(REPLICA_SETS, ns, v2.metadata!.name!);
    assert.equal(revision(again), '4');
    assert.equal(again.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '2');
  });

  it('keeps revisionHistoryLimit old ReplicaSets and deletes older empty ones', async () => {
    const ns = await createNamespace(client, 'dl-history');
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('h', { replicas: 1, spec: { revisionHistoryLimit: 1 } }));
    await deploymentWhen(client, ns, 'h', 'rollout 1', rolledOut);
    for (const [i, image] of ['nginx:1.26', 'nginx:1.27', 'nginx:1.28'].entries()) {
      await setImage(client, ns, 'h', image);
      await deploymentWhen(client, ns, 'h', `rollout ${i + 2}`, (x) => rolledOut(x) && revision(x) === String(i + 2));
    }
    const rss = await eventually('old ReplicaSets cleaned up', async () => {
      const list = await replicaSetsOf(client, d);
      return list.length === 2 ? list : undefined;
    });
    assert.deepEqual(rss.map(revision), ['3', '4']);
    assert.deepEqual(
      rss.map((rs) => rs.spec.replicas),
      [0, 1],
    );
  });

  it('reports ProgressDeadlineExceeded when new pods never become ready', async () => {
    const ns = await createNamespace(client, 'dl-deadline');
    await client.create(DEPLOYMENTS, ns, deploymentObject('slow', { replicas: 1, image: BROKEN_IMAGE, spec: { progressDeadlineSeconds: 1 } }));
    const stuck = await deploymentWhen(client, ns, 'slow', 'deadline exceeded', (x) => condition(x, 'Progressing')?.reason === 'ProgressDeadlineExceeded');
    const [rs] = await replicaSetsOf(client, stuck);
    const cond = condition(stuck, 'Progressing')!;
    assert.equal(cond.status, 'False');
    assert.equal(cond.message, `ReplicaSet "${rs.metadata!.name}" has timed out progressing.`);
    assert.deepEqual(
      [condition(stuck, 'Available')?.status, condition(stuck, 'Available')?.reason],
      ['False', 'MinimumReplicasUnavailable'],
    );
    assert.equal(stuck.status.unavailableReplicas, 1);
  });

  it('scales through the scale subresource', async () => {
    const ns = await createNamespace(client, 'dl-scale');
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('s', { replicas: 2 }));
    await deploymentWhen(client, ns, 's', 'first rollout', rolledOut);
    // What `kubectl scale` sends: a merge patch of the Scale, over HTTP.
    const port = await fx.server.listen(0);
    const scaleTo = async (replicas: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/apis/apps/v1/namespaces/${ns}/deployments/s/scale`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json', accept: 'application/json' },
        body: JSON.stringify({ spec: { replicas } }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    await scaleTo(5);
    const up = await deploymentWhen(client, ns, 's', 'scaled up', (x) => rolledOut(x) && x.status?.availableReplicas === 5);
    const [rs] = await replicaSetsOf(client, d);
    assert.equal(rs.spec.replicas, 5);
    assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '5');
    assert.equal(revision(up), '1', 'scaling is no new revision');
    await scaleTo(1);
    await deploymentWhen(client, ns, 's', 'scaled down', (x) => rolledOut(x) && x.status?.replicas === 1);
    const messages = (await deploymentEvents(fx, ns, 's')).map((e) => e.message);
    assert.deepEqual(messages, [`Scaled up replica set ${rs.metadata!.name} to 2`, `Scaled up replica set ${rs.metadata!.name} to 5 from 2`, `Scaled down replica set ${rs.metadata!.name} to 1 from 5`]);
  });

  it('adopts a matching orphan ReplicaSet and scales it away as an old one', async () => {
    const ns = await createNamespace(client, 'dl-adopt');
    await client.create(REPLICA_SETS, ns, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'legacy', labels: { app: 'a' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.0' }] } } },
    });
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('a', { replicas: 1 }));
    await deploymentWhen(client, ns, 'a', 'rolled out', (x) => rolledOut(x) && x.status?.replicas === 1);
    const legacy = await eventually('legacy scaled down', async () => {
      const rs = await client.get(REPLICA_SETS, ns, 'legacy');
      return rs.spec.replicas === 0 ? rs : undefined;
    });
    assert.equal(legacy.metadata!.ownerReferences?.[0]?.uid, d.metadata!.uid);
    assert.equal((await replicaSetsOf(client, d)).length, 2);
  });

  it('rolls back by the deprecated rollback annotation', async () => {
    const ns = await createNamespace(client, 'dl-rollback');
    await client.create(DEPLOYMENTS, ns, deploymentObject('r', { replicas: 1 }));
    await deploymentWhen(client, ns, 'r', 'rollout 1', rolledOut);
    await setImage(client, ns, 'r', 'nginx:1.26');
    await deploymentWhen(client, ns, 'r', 'rollout 2', (x) => rolledOut(x) && revision(x) === '2');
    await client.patch(DEPLOYMENTS, ns, 'r', 'application/merge-patch+json', { metadata: { annotations: { 'deprecated.deployment.rollback.to': '0' } } });
    const back = await deploymentWhen(client, ns, 'r', 'rolled back', (x) => rolledOut(x) && revision(x) === '3');
    assert.equal(back.spec.template.spec.containers[0].image, 'nginx:1.25');
    assert.equal(back.metadata!.annotations!['deprecated.deployment.rollback.to'], undefined);
    assert.ok((await deploymentEvents(fx, ns, 'r')).some((e) => e.reason === 'DeploymentRollback' && e.message === 'Rolled back deployment "r" to revision 1'));
  });

  it('resolves a hash collision by counting it into the hash', async () => {
    const ns = await createNamespace(client, 'dl-collision');
    // Paused, the Deployment has its defaulted template but no ReplicaSet yet.
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('c', { replicas: 1, spec: { paused: true } }));
    const hash = computeHash(d.spec.template, undefined);
    await client.create(REPLICA_SETS, ns, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `c-${hash}`, labels: { squatter: 'yes' } },
      spec: { replicas: 0, selector: { matchLabels: { squatter: 'yes' } }, template: { metadata: { labels: { squatter: 'yes' } }, spec: { containers: [{ name: 'x', image: 'busybox' }] } } },
    });
    await client.patch(DEPLOYMENTS, ns, 'c', 'application/merge-patch+json', { spec: { paused: false } });
    const done = await deploymentWhen(client, ns, 'c', 'rolled out', (x) => rolledOut(x) && x.status?.availableReplicas === 1);
    assert.equal(done.status.collisionCount, 1);
    const [rs] = await replicaSetsOf(client, d);
    assert.equal(rs.metadata!.name, `c-${computeHash(d.spec.template, 1)}`);
    assert.equal((await client.get(REPLICA_SETS, ns, `c-${hash}`)).metadata!.ownerReferences, undefined);
  });

  it('carries minReadySeconds to the ReplicaSet and counts pods available only after it', async () => {
    const ns = await createNamespace(client, 'dl-minready');
    // Two seconds: ready times have second precision, so a pod waits between one and two, always long enough to see.
    const d = await client.create(DEPLOYMENTS, ns, deploymentObject('m', { replicas: 2, spec: { minReadySeconds: 2 } }));
    await deploymentWhen(client, ns, 'm', 'ready, not yet available', (x) => x.status?.readyReplicas === 2 && !x.status?.availableReplicas);
    await deploymentWhen(client, ns, 'm', 'available', (x) => rolledOut(x) && x.status?.availableReplicas === 2);
    const [rs] = await replicaSetsOf(client, d);
    assert.equal(rs.spec.minReadySeconds, 2);
    await client.patch(DEPLOYMENTS, ns, 'm', 'application/merge-patch+json', { spec: { minReadySeconds: null } });
    await eventually('minReadySeconds dropped from the ReplicaSet', async () => (await client.get(REPLICA_SETS, ns, rs.metadata!.name!)).spec.minReadySeconds === undefined);
    assert.equal((await replicaSetsOf(client, d)).length, 1, 'minReadySeconds is no new template');
  });

  it('writes nothing when it reconciles a settled world again', async () => {
    const ns = await createNamespace(client, 'dl-level');
    await client.create(DEPLOYMENTS, ns, deploymentObject('calm', { replicas: 3 }));
    const done = await deploymentWhen(client, ns, 'calm', 'rolled out', (x) => rolledOut(x) && condition(x, 'Progressing')?.reason === 'NewReplicaSetAvailable');
    const dInf = fx.informers.informer(DEPLOYMENTS);
    const rsInf = fx.informers.informer(REPLICA_SETS);
    await eventually('informers caught up', async () => dInf.get(`${ns}/calm`)?.metadata?.resourceVersion === done.metadata!.resourceVersion);
    // Settled: nothing in this namespace moves any more.
    await eventually('all ReplicaSets settled', async () => rsInf.listKeys().filter((k) => k.startsWith(`${ns}/`)).every((k) => rsInf.get(k)?.status?.availableReplicas === 3));
    await fx.ctx.recorder('deployment-controller').flush();
    await fx.ctx.recorder('replicaset-controller').flush();
    const before = fx.counting.attempts;
    await fx.deploymentController.reconcile(`${ns}/calm`);
    for (const key of rsInf.listKeys().filter((k) => k.startsWith(`${ns}/`))) await fx.replicaSetController.reconcile(key);
    await fx.ctx.recorder('deployment-controller').flush();
    assert.equal(fx.counting.attempts, before);
  });
});

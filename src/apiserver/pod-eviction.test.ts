import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../../test/harness/in-process.js';
import { ApiError } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import { PODS } from '../controllers/pods.js';

const PDBS = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' };
const NS = 'default';

const eviction = (name: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS }, ...extra }) as KubeObject;

async function runningPod(c: InProcessCluster, name: string, opts: { ready?: boolean; phase?: string; labels?: Record<string, string> } = {}) {
  await c.client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: opts.labels ?? { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } as KubeObject);
  const phase = opts.phase ?? 'Running';
  const conditions = phase === 'Running' ? [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] : [];
  await c.client.patch(PODS, NS, name, 'application/merge-patch+json', { status: { phase, conditions } }, { subresource: 'status' });
}

/** A budget as the disruption controller would have left it. */
async function budget(c: InProcessCluster, name: string, status: Record<string, unknown>, selector: Record<string, unknown> = { matchLabels: { app: 'web' } }) {
  const pdb = await c.client.create(PDBS, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec: { minAvailable: 1, selector } } as KubeObject);
  const generation = pdb.metadata?.generation ?? 1;
  await c.client.patch(PDBS, NS, name, 'application/merge-patch+json', { status: { observedGeneration: generation, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, ...status } }, { subresource: 'status' });
}

async function gone(c: InProcessCluster, name: string): Promise<boolean> {
  try {
    await c.client.get(PODS, NS, name);
    return false;
  } catch (e) {
    return e instanceof ApiError && e.code === 404;
  }
}

test('eviction without a budget deletes the pod; a missing pod is 404 and a dry run deletes nothing', async () => {
  const c = await startInProcessCluster('evict-plain');
  try {
    await runningPod(c, 'p');
    await assert.rejects(c.client.create(PODS, NS, eviction('other'), { subresource: 'eviction' }), (e: ApiError) => {
      assert.equal(e.code, 404);
      assert.equal(e.message, 'pods "other" not found');
      return true;
    });
    const status = await c.client.create(PODS, NS, eviction('p', { deleteOptions: { dryRun: ['All'] } }), { subresource: 'eviction' });
    assert.equal(status.status, 'Success');
    assert.equal(await gone(c, 'p'), false, 'a dry run deletes nothing');
    await c.client.create(PODS, NS, eviction('p'), { subresource: 'eviction' });
    assert.ok(await gone(c, 'p'));
  } finally {
    await c.stop();
  }
});

test('a budget allowing one disruption lets one eviction through and refuses the next with 429', async () => {
  const c = await startInProcessCluster('evict-budget');
  try {
    await runningPod(c, 'a');
    await runningPod(c, 'b');
    await runningPod(c, 'other', { labels: { app: 'db' } });
    await budget(c, 'web', { disruptionsAllowed: 1 });
    await c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' });
    assert.ok(await gone(c, 'a'));
    const pdb = await c.client.get(PDBS, NS, 'web');
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.deepEqual(Object.keys(pdb.status.disruptedPods), ['a']);
    assert.deepEqual(
      pdb.status.conditions.map((x: any) => [x.type, x.status, x.reason]),
      [['DisruptionAllowed', 'False', 'InsufficientPods']],
    );
    await assert.rejects(c.client.create(PODS, NS, eviction('b'), { subresource: 'eviction' }), (e: ApiError) => {
      assert.equal(e.code, 429);
      assert.equal(e.reason, 'TooManyRequests');
      assert.equal(e.message, "Cannot evict pod as it would violate the pod's disruption budget.");
      assert.deepEqual(e.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 1 healthy pods and has 2 currently' }]);
      return true;
    });
    assert.equal(await gone(c, 'b'), false);
    // A pod the budget does not select is no business of it.
    await c.client.create(PODS, NS, eviction('other'), { subresource: 'eviction' });
    assert.ok(await gone(c, 'other'));
  } finally {
    await c.stop();
  }
});

test('an unprocessed budget is 429, two budgets 500, and a Pending pod goes despite a zero budget', async () => {
  const c = await startInProcessCluster('evict-edge');
  try {
    await runningPod(c, 'a');
    await c.client.create(PDBS, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'fresh' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } } as KubeObject);
    await assert.rejects(c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' }), (e: ApiError) => {
      assert.equal(e.code, 429);
      assert.deepEqual(e.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget fresh is still being processed by the server.' }]);
      assert.equal(e.details?.retryAfterSeconds, 10);
      return true;
    });
    await budget(c, 'second', { disruptionsAllowed: 5 });
    await assert.rejects(c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' }), (e: ApiError) => {
      assert.equal(e.code, 500);
      assert.equal(e.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
      return true;
    });
    await c.client.delete(PDBS, NS, 'second');
    await c.client.delete(PDBS, NS, 'fresh');
    await budget(c, 'zero', { disruptionsAllowed: 0 });
    await runningPod(c, 'pending', { phase: 'Pending' });
    await c.client.create(PODS, NS, eviction('pending'), { subresource: 'eviction' });
    assert.ok(await gone(c, 'pending'));
    // A bound pod stays while it terminates, marked as disrupted by the eviction.
    await c.client.create(PODS, NS, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { kind: 'Node', name: 'n1' } } as KubeObject, { subresource: 'binding' });
    await assert.rejects(c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' }), (e: ApiError) => e.code === 429);
    await c.client.patch(PDBS, NS, 'zero', 'application/merge-patch+json', { status: { disruptionsAllowed: 1 } }, { subresource: 'status' });
    await c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' });
    const terminating = await c.client.get(PODS, NS, 'a');
    assert.ok(terminating.metadata?.deletionTimestamp);
    const target = terminating.status.conditions.find((x: any) => x.type === 'DisruptionTarget');
    assert.deepEqual([target.status, target.reason, target.message], ['True', 'EvictionByEvictionAPI', 'Eviction API: evicting']);
    // Already terminating: evicting again costs the (now empty) budget nothing.
    await c.client.create(PODS, NS, eviction('a'), { subresource: 'eviction' });
  } finally {
    await c.stop();
  }
});

test('an unready pod goes without its budget when the budget is met (IfHealthyBudget)', async () => {
  const c = await startInProcessCluster('evict-unready');
  try {
    await runningPod(c, 'sick', { ready: false });
    await budget(c, 'web', { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 });
    await c.client.create(PODS, NS, eviction('sick'), { subresource: 'eviction' });
    assert.ok(await gone(c, 'sick'));
    assert.equal((await c.client.get(PDBS, NS, 'web')).status.disruptionsAllowed, 0);
    // Below its budget, even an unready pod is guarded unless the budget says AlwaysAllow.
    await runningPod(c, 'sick2', { ready: false });
    await c.client.patch(PDBS, NS, 'web', 'application/merge-patch+json', { status: { currentHealthy: 0 } }, { subresource: 'status' });
    await assert.rejects(c.client.create(PODS, NS, eviction('sick2'), { subresource: 'eviction' }), (e: ApiError) => e.code === 429);
  } finally {
    await c.stop();
  }
});

test('pods/eviction over HTTP: 201 Success, 429 with Retry-After, 400 on a mismatch, 405 to GET, and discovery', async () => {
  const c = await startInProcessCluster('evict-http');
  try {
    const port = await c.server.listen(0);
    await runningPod(c, 'q');
    await runningPod(c, 'r');
    const url = (name: string) => `http://127.0.0.1:${port}/api/v1/namespaces/${NS}/pods/${name}/eviction`;
    const post = (name: string, body: unknown) => fetch(url(name), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const mismatch = await post('q', eviction('r'));
    assert.equal(mismatch.status, 400);
    assert.equal(((await mismatch.json()) as { message: string }).message, 'name in URL does not match name in Eviction object');
    assert.equal((await fetch(url('q'))).status, 405);

    await c.client.create(PDBS, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } } as KubeObject);
    const busy = await post('q', eviction('q'));
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('retry-after'), '10');
    const busyBody = (await busy.json()) as { reason: string; details: { causes: unknown[] } };
    assert.equal(busyBody.reason, 'TooManyRequests');
    assert.deepEqual(busyBody.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web is still being processed by the server.' }]);

    await c.client.delete(PDBS, NS, 'web');
    const ok = await post('q', { ...eviction('q'), apiVersion: 'policy/v1beta1', deleteOptions: { gracePeriodSeconds: 0 } });
    assert.equal(ok.status, 201);
    const okBody = (await ok.json()) as { kind: string; status: string };
    assert.deepEqual([okBody.kind, okBody.status], ['Status', 'Success']);
    assert.ok(await gone(c, 'q'));

    const discovery = (await (await fetch(`http://127.0.0.1:${port}/api/v1`)).json()) as { resources: Record<string, unknown>[] };
    const sub = discovery.resources.find((r) => r.name === 'pods/eviction');
    assert.deepEqual(sub && [sub.group, sub.version, sub.kind, sub.verbs], ['policy', 'v1', 'Eviction', ['create']]);
  } finally {
    await c.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startInProcessCluster, eventually } from '../../test/harness/in-process.js';
import { ApiError } from '../api/errors.js';
import type { ResourceRef } from '../client/interface.js';
import { PODS } from '../controllers/pods.js';
import { toStoredJson } from './objects.js';

const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };

/** A pod as an older server could have stored it: its container name is not a DNS label. */
function legacyPod(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: randomUUID(), creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'Not_A_Label', image: 'busybox' }], restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' },
    status: { phase: 'Pending' },
  };
}

test('a status write and a binding do not validate the pod spec again, as upstream; a spec update still does', async () => {
  const c = await startInProcessCluster('status-validation');
  try {
    await c.store.create('/registry/pods/default/legacy', toStoredJson(legacyPod('legacy')));
    await eventually('the watch cache has the pod', async () => (await c.client.list(PODS, 'default', { resourceVersion: '0' })).items.length === 1);

    const bound = await c.client.create(
      PODS,
      'default',
      { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'legacy' }, target: { kind: 'Node', name: 'n1' } },
      { subresource: 'binding' },
    );
    assert.equal(bound.status, 'Success');
    const running = await c.client.patch(PODS, 'default', 'legacy', 'application/merge-patch+json', { status: { phase: 'Running' } }, { subresource: 'status' });
    assert.equal(running.status.phase, 'Running');
    assert.equal(running.spec.nodeName, 'n1');

    // The main resource validates the whole spec, status writes or not.
    await assert.rejects(
      c.client.patch(PODS, 'default', 'legacy', 'application/merge-patch+json', { metadata: { labels: { a: 'b' } } }),
      (e: ApiError) => e.code === 422 && /spec\.containers\[0\]\.name/.test(e.message),
    );
    const after = await c.client.get(PODS, 'default', 'legacy');
    assert.equal(after.spec.nodeName, 'n1');
    assert.equal(after.status.phase, 'Running');
  } finally {
    await c.stop();
  }
});

test('in-process writes answer with an object of the caller: mutable, unshared with the cache or the next answer', async () => {
  const c = await startInProcessCluster('write-copies');
  try {
    const created = await c.client.create(CONFIG_MAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { k: 'v1' } });
    assert.equal(Object.isFrozen(created), false);
    created.data.k = 'changed by the caller';

    const patched = await c.client.patch(CONFIG_MAPS, 'default', 'cm', 'application/merge-patch+json', { data: { p: '1' } });
    assert.deepEqual(patched.data, { k: 'v1', p: '1' });
    patched.data.k = 'changed again';
    patched.metadata!.labels = { mutated: 'yes' };

    const updated = await c.client.update(CONFIG_MAPS, 'default', { ...(await c.client.get(CONFIG_MAPS, 'default', 'cm')), data: { k: 'v2' } });
    updated.data.k = 'and again';

    const stored = await c.client.get(CONFIG_MAPS, 'default', 'cm');
    assert.deepEqual(stored.data, { k: 'v2' });
    assert.equal(stored.metadata?.labels, undefined);
    const cached = (await c.client.list(CONFIG_MAPS, 'default', { resourceVersion: '0' })).items[0];
    assert.deepEqual(cached.data, { k: 'v2' });

    // A patch that changes nothing answers with the stored object, also the caller's to keep.
    const same = await c.client.patch(CONFIG_MAPS, 'default', 'cm', 'application/merge-patch+json', { data: { k: 'v2' } });
    assert.equal(same.metadata?.resourceVersion, stored.metadata?.resourceVersion);
    same.data.k = 'mutated';
    assert.deepEqual((await c.client.get(CONFIG_MAPS, 'default', 'cm')).data, { k: 'v2' });
  } finally {
    await c.stop();
  }
});

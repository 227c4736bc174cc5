import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../../client/interface.js';
import { startInProcessCluster, refusal } from '../../../test/harness/in-process.js';
import { NAMESPACES } from '../../controllers/pods.js';

const CONFIG_MAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });


test('NamespaceLifecycle: nothing new in a terminating or missing namespace; the system namespaces stay', async () => {
  const c = await startInProcessCluster('ns-lifecycle');
  try {
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'leaving' } });
    await c.client.create(CONFIG_MAPS, 'leaving', cm('before'));
    // No namespace controller here: the namespace stays Terminating behind its finalizer.
    await c.client.delete(NAMESPACES, '', 'leaving');
    let err = await refusal(c.client.create(CONFIG_MAPS, 'leaving', cm('after')));
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.message, 'configmaps "after" is forbidden: unable to create new content in namespace leaving because it is being terminated');
    assert.deepEqual(err.details?.causes, [{ reason: 'NamespaceTerminating', message: 'namespace leaving is being terminated', field: 'metadata.namespace' }]);
    // What is already there may still change (controllers finish their work while it drains).
    await c.client.patch(CONFIG_MAPS, 'leaving', 'before', 'application/merge-patch+json', { data: { a: 'b' } });

    err = await refusal(c.client.create(CONFIG_MAPS, 'nowhere', cm('x')));
    assert.equal(err.code, 404);
    assert.equal(err.message, 'namespaces "nowhere" not found');

    for (const name of ['default', 'kube-system', 'kube-public']) {
      err = await refusal(c.client.delete(NAMESPACES, '', name));
      assert.equal(err.code, 403);
      assert.equal(err.message, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
    }
  } finally {
    await c.stop();
  }
});

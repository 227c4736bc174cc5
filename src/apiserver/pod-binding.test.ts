import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster } from '../../test/harness/in-process.js';
import { ApiError } from '../api/errors.js';
import { PODS } from '../controllers/pods.js';

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
const binding = (name: string, node: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name, ...extra }, target: { kind: 'Node', name: node } });

test('pods/binding sets the node and PodScheduled once, and a second binding is a 409', async () => {
  const c = await startInProcessCluster('binding');
  try {
    await c.client.create(PODS, 'default', pod('p'));
    const status = await c.client.create(PODS, 'default', binding('p', 'n1', { annotations: { a: 'b' } }), { subresource: 'binding' });
    assert.equal(status.status, 'Success');
    const bound = await c.client.get(PODS, 'default', 'p');
    assert.equal(bound.spec.nodeName, 'n1');
    assert.equal(bound.metadata?.annotations?.a, 'b');
    assert.deepEqual(
      bound.status.conditions.map((x: any) => [x.type, x.status]),
      [['PodScheduled', 'True']],
    );
    await assert.rejects(c.client.create(PODS, 'default', binding('p', 'n2'), { subresource: 'binding' }), (e: ApiError) => {
      assert.equal(e.code, 409);
      assert.match(e.message, /already assigned to node "n1"/);
      return true;
    });
    await assert.rejects(c.client.create(PODS, 'default', binding('missing', 'n2'), { subresource: 'binding' }), (e: ApiError) => e.code === 404);
    await assert.rejects(c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: {} }, { subresource: 'binding' }), (e: ApiError) => {
      assert.equal(e.code, 422);
      return true;
    });
    // A plain update may still not move a pod.
    await assert.rejects(c.client.update(PODS, 'default', { ...bound, spec: { ...bound.spec, nodeName: 'n2' } }), (e: ApiError) => e.code === 422);
  } finally {
    await c.stop();
  }
});

test('pods/binding over HTTP answers 201 Success to POST and 405 to other verbs', async () => {
  const c = await startInProcessCluster('binding-http');
  try {
    const port = await c.server.listen(0);
    await c.client.create(PODS, 'default', pod('q'));
    const url = `http://127.0.0.1:${port}/api/v1/namespaces/default/pods/q/binding`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(binding('q', 'n1')) });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { status: string }).status, 'Success');
    assert.equal((await fetch(url)).status, 405);
    assert.equal((await c.client.get(PODS, 'default', 'q')).spec.nodeName, 'n1');
  } finally {
    await c.stop();
  }
});

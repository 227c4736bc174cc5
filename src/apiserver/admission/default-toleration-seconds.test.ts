import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster } from '../../../test/harness/in-process.js';
import { PODS } from '../../controllers/pods.js';

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

test('DefaultTolerationSeconds: a new pod tolerates not-ready and unreachable for 300 s unless it says otherwise', async () => {
  const c = await startInProcessCluster('default-tolerations');
  try {
    const plain = await c.client.create(PODS, 'default', pod('plain'));
    assert.deepEqual(plain.spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const own = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    const mine = await c.client.create(PODS, 'default', { ...pod('mine'), spec: { ...pod('mine').spec, tolerations: [own] } });
    assert.deepEqual(mine.spec.tolerations, [own, { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]);
    const all = await c.client.create(PODS, 'default', { ...pod('all'), spec: { ...pod('all').spec, tolerations: [{ operator: 'Exists' }] } });
    assert.deepEqual(all.spec.tolerations, [{ operator: 'Exists' }]);
  } finally {
    await c.stop();
  }
});

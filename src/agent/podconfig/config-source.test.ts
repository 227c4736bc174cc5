import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import { eventually, startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { InProcessClient } from '../../client/in-process.js';
import type { ResourceRef } from '../../client/interface.js';
import { CONFIG_MAPS, referencedObjects, SECRETS, WatchingConfigSource } from './config-source.js';

let cluster: InProcessCluster;
before(async () => {
  cluster = await startInProcessCluster('pc-config-source');
});
after(async () => {
  await cluster.stop();
});

/** Counts direct reads, to show which ones the watch cache served. */
class GetCountingClient extends InProcessClient {
  gets: string[] = [];
  override get(ref: ResourceRef, namespace: string, name: string) {
    this.gets.push(`${ref.resource} ${namespace}/${name}`);
    return super.get(ref, namespace, name);
  }
}

const pod = (uid: string, spec: any): KubeObject => ({ metadata: { name: `p-${uid}`, namespace: 'default', uid }, spec });

test('referencedObjects finds every ConfigMap and Secret a pod uses', () => {
  const refs = referencedObjects(
    pod('r', {
      imagePullSecrets: [{ name: 'pull' }],
      volumes: [
        { name: 'a', configMap: { name: 'cm-vol' } },
        { name: 'b', secret: { secretName: 's-vol' } },
        { name: 'c', projected: { sources: [{ configMap: { name: 'cm-proj' } }, { secret: { name: 's-proj' } }, { downwardAPI: {} }] } },
        { name: 'd', emptyDir: {} },
      ],
      initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'cm-init' } }] }],
      containers: [
        {
          name: 'c',
          envFrom: [{ secretRef: { name: 's-from' } }],
          env: [
            { name: 'X', valueFrom: { configMapKeyRef: { name: 'cm-key', key: 'k' } } },
            { name: 'Y', valueFrom: { secretKeyRef: { name: 's-key', key: 'k' } } },
          ],
        },
      ],
    }),
  );
  assert.deepEqual([...refs.configMaps].sort(), ['cm-init', 'cm-key', 'cm-proj', 'cm-vol']);
  assert.deepEqual([...refs.secrets].sort(), ['pull', 's-from', 's-key', 's-proj', 's-vol']);
});

test('one watch per referenced object, counted by pods; reads follow changes; unreferenced objects are read directly', async () => {
  const c = cluster.client;
  await c.create(CONFIG_MAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared' }, data: { k: 'v1' } });
  await c.create(CONFIG_MAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared-2' }, data: { k: 'other' } });
  await c.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { p: Buffer.from('x').toString('base64') } });

  const counting = new GetCountingClient(cluster.server);
  const source = new WatchingConfigSource(counting, { backoffBaseMs: 10 });
  const changes: string[] = [];
  source.onChange((kind, ns, name, pods) => changes.push(`${kind} ${ns}/${name} [${pods.join(',')}]`));
  try {
    const a = pod('a', { volumes: [{ name: 'v', configMap: { name: 'shared' } }], containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'sec' } }] }] });
    const b = pod('b', { containers: [{ name: 'c', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'shared', key: 'k' } } }] }] });
    source.registerPod(a);
    source.registerPod(b);
    source.registerPod(b); // idempotent
    assert.deepEqual(source.watched(), ['ConfigMap default/shared', 'Secret default/sec']);

    assert.equal((await source.configMap('default', 'shared'))?.data?.k, 'v1');
    assert.equal((await source.secret('default', 'sec'))?.data?.p, Buffer.from('x').toString('base64'));
    // The watch is of that one name: its neighbour is not in the cache, but can still be read.
    assert.equal((await source.configMap('default', 'shared-2'))?.data?.k, 'other');
    assert.equal(await source.configMap('default', 'absent'), undefined);
    assert.deepEqual(counting.gets, ['configmaps default/shared-2', 'configmaps default/absent'], 'watched objects come from the cache');

    await c.patch(CONFIG_MAPS, 'default', 'shared', 'application/merge-patch+json', { data: { k: 'v2' } });
    await eventually('the cached ConfigMap to change', async () => (await source.configMap('default', 'shared'))?.data?.k === 'v2');
    await eventually('a change notification naming both pods', async () => changes.some((s) => s.startsWith('ConfigMap default/shared [') && s.includes('a') && s.includes('b')));

    await c.delete(SECRETS, 'default', 'sec');
    await eventually('the deleted Secret to read as missing', async () => (await source.secret('default', 'sec')) === undefined);

    source.unregisterPod('a');
    assert.deepEqual(source.watched(), ['ConfigMap default/shared'], 'the Secret only pod a used is no longer watched');
    // A pod whose references changed releases what it dropped.
    source.registerPod(pod('b', { containers: [{ name: 'c' }] }));
    assert.deepEqual(source.watched(), []);
  } finally {
    source.stop();
  }
});

test('an immutable object is kept without a watch once seen', async () => {
  const c = cluster.client;
  await c.create(CONFIG_MAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frozen' }, immutable: true, data: { k: 'forever' } });
  const source = new WatchingConfigSource(c);
  try {
    source.registerPod(pod('f', { volumes: [{ name: 'v', configMap: { name: 'frozen' } }] }));
    assert.equal((await source.configMap('default', 'frozen'))?.data?.k, 'forever');
    // Deleting it on the server is not seen (as upstream: an immutable object is not watched).
    await c.delete(CONFIG_MAPS, 'default', 'frozen');
    assert.equal((await source.configMap('default', 'frozen'))?.data?.k, 'forever');
  } finally {
    source.stop();
  }
});

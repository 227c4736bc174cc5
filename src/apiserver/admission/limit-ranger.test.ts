import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../../client/interface.js';
import { startInProcessCluster, refusal } from '../../../test/harness/in-process.js';
import { PODS } from '../../controllers/pods.js';

const LIMIT_RANGES: ResourceRef = { group: '', version: 'v1', resource: 'limitranges' };
const PVCS: ResourceRef = { group: '', version: 'v1', resource: 'persistentvolumeclaims' };

const pod = (name: string, resources?: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', ...(resources ? { resources } : {}) }], ...more },
});


test('LimitRanger: container defaults, the annotation, and min/max/ratio refusals with upstream messages', async () => {
  const c = await startInProcessCluster('limit-ranger');
  try {
    await c.client.create(LIMIT_RANGES, 'default', {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'limits' },
      spec: {
        limits: [
          { type: 'Container', max: { cpu: '500m' }, min: { cpu: '50m' }, default: { cpu: '200m', memory: '128Mi' }, defaultRequest: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '4' } },
          { type: 'Pod', max: { memory: '256Mi' } },
        ],
      },
    });
    const plain = await c.client.create(PODS, 'default', pod('plain'));
    assert.deepEqual(plain.spec.containers[0].resources, { limits: { cpu: '200m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    assert.equal(plain.metadata?.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c');

    // Only what the container leaves out is filled in.
    const own = await c.client.create(PODS, 'default', pod('own', { limits: { cpu: '400m', memory: '64Mi' }, requests: { cpu: '300m', memory: '64Mi' } }));
    assert.deepEqual(own.spec.containers[0].resources, { limits: { cpu: '400m', memory: '64Mi' }, requests: { cpu: '300m', memory: '64Mi' } });
    assert.equal(own.metadata?.annotations?.['kubernetes.io/limit-ranger'], undefined);

    let err = await refusal(c.client.create(PODS, 'default', pod('big', { limits: { cpu: '1' }, requests: { cpu: '300m' } })));
    assert.equal(err.code, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.message, 'pods "big" is forbidden: maximum cpu usage per Container is 500m, but limit is 1');

    err = await refusal(c.client.create(PODS, 'default', pod('small', { limits: { cpu: '100m' }, requests: { cpu: '10m' } })));
    assert.equal(err.message, 'pods "small" is forbidden: [minimum cpu usage per Container is 50m, but request is 10m, cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000]');

    err = await refusal(c.client.create(PODS, 'default', pod('fat', { limits: { memory: '300Mi' }, requests: { memory: '300Mi' } })));
    assert.equal(err.message, 'pods "fat" is forbidden: maximum memory usage per Pod is 256Mi, but limit is 300Mi');
  } finally {
    await c.stop();
  }
});

test('LimitRanger: claims are held to the PersistentVolumeClaim min and max storage', async () => {
  const c = await startInProcessCluster('limit-ranger-pvc');
  try {
    await c.client.create(LIMIT_RANGES, 'default', {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'storage' },
      spec: { limits: [{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '2Gi' } }] },
    });
    const claim = (name: string, storage: string) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
    await c.client.create(PVCS, 'default', claim('fits', '1Gi'));
    let err = await refusal(c.client.create(PVCS, 'default', claim('huge', '5Gi')));
    assert.equal(err.message, 'persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi');
    err = await refusal(c.client.create(PVCS, 'default', claim('tiny', '100Mi')));
    assert.equal(err.message, 'persistentvolumeclaims "tiny" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi');
  } finally {
    await c.stop();
  }
});

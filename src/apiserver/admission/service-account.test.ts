import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceRef } from '../../client/interface.js';
import { startInProcessCluster, refusal } from '../../../test/harness/in-process.js';
import { NAMESPACES, PODS } from '../../controllers/pods.js';

const SERVICE_ACCOUNTS: ResourceRef = { group: '', version: 'v1', resource: 'serviceaccounts' };
const pod = (name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...metadata },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});


test('ServiceAccount: pods run as default, take its pull secrets, and may not name a missing account', async () => {
  const c = await startInProcessCluster('sa-admission');
  try {
    // A namespace created just now: its `default` comes from the controller a moment later, and the pod waits for it.
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } });
    const first = await c.client.create(PODS, 'fresh', pod('first'));
    assert.equal(first.spec.serviceAccountName, 'default');
    assert.equal(first.spec.serviceAccount, 'default');
    assert.equal(first.spec.volumes.length, 1);
    assert.match(first.spec.volumes[0].name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);

    await c.client.create(SERVICE_ACCOUNTS, 'fresh', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' }, imagePullSecrets: [{ name: 'regcred' }] });
    const built = await c.client.create(PODS, 'fresh', pod('built', { serviceAccountName: 'builder' }));
    assert.deepEqual(built.spec.imagePullSecrets, [{ name: 'regcred' }]);

    const err = await refusal(c.client.create(PODS, 'fresh', pod('ghost', { serviceAccountName: 'ghost' })));
    assert.equal(err.code, 403);
    assert.equal(err.message, 'pods "ghost" is forbidden: error looking up service account fresh/ghost: serviceaccount "ghost" not found');

    // Mirror pods are the kubelet's: left as they are, and kept away from accounts and secrets.
    const mirror = { 'kubernetes.io/config.mirror': 'abc' };
    const m = await c.client.create(PODS, 'fresh', pod('mirror', {}, { annotations: mirror }));
    assert.equal(m.spec.serviceAccountName, undefined);
    const bad = await refusal(c.client.create(PODS, 'fresh', pod('mirror-sa', { serviceAccountName: 'builder' }, { annotations: mirror })));
    assert.equal(bad.message, 'pods "mirror-sa" is forbidden: a mirror pod may not reference service accounts');
  } finally {
    await c.stop();
  }
});

test('ServiceAccount: without the serviceaccount controller a pod is refused once the bounded wait for `default` is over', async () => {
  const c = await startInProcessCluster('sa-missing', { serviceAccounts: false });
  try {
    const err = await refusal(c.client.create(PODS, 'default', pod('lonely')));
    assert.equal(err.message, 'pods "lonely" is forbidden: error looking up service account default/default: serviceaccount "default" not found');
  } finally {
    await c.stop();
  }
});

test('ServiceAccount: the kube-api-access projected volume is mounted read-only into every container, as upstream shapes it', async () => {
  const c = await startInProcessCluster('sa-token-volume');
  try {
    await c.client.create(SERVICE_ACCOUNTS, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'quiet' }, automountServiceAccountToken: false });
    const p = await c.client.create(
      PODS,
      'default',
      pod('web', {
        initContainers: [{ name: 'init', image: 'busybox' }],
        containers: [
          { name: 'a', image: 'busybox' },
          // Something mounted at the path already: left alone, as upstream.
          { name: 'b', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] },
        ],
        volumes: [{ name: 'mine', emptyDir: {} }],
      }),
    );
    const vol = p.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.deepEqual(vol.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    const mount = { name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
    assert.deepEqual(p.spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(p.spec.containers[0].volumeMounts, [mount]);
    assert.deepEqual(p.spec.containers[1].volumeMounts, [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);

    // automountServiceAccountToken: the pod's word wins over the account's.
    const off = await c.client.create(PODS, 'default', pod('off', { automountServiceAccountToken: false }));
    assert.equal(off.spec.volumes, undefined);
    assert.equal(off.spec.containers[0].volumeMounts, undefined);
    const quiet = await c.client.create(PODS, 'default', pod('quiet', { serviceAccountName: 'quiet' }));
    assert.equal(quiet.spec.volumes, undefined);
    const on = await c.client.create(PODS, 'default', pod('on', { serviceAccountName: 'quiet', automountServiceAccountToken: true }));
    assert.equal(on.spec.volumes.length, 1);
  } finally {
    await c.stop();
  }
});

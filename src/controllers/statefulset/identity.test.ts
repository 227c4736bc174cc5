import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.js';
import {
  claimIsStale,
  claimOwnerReferences,
  claimOwnersMatch,
  claimsFor,
  identityMatches,
  newVersionedStatefulSetPod,
  parentAndOrdinal,
  storageMatches,
  withIdentity,
} from './identity.js';

const set = (spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'web', namespace: 'ns', uid: 'set-uid' },
  spec: {
    replicas: 3,
    serviceName: 'nginx',
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i:1' }], volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data', labels: { tier: 'db' }, creationTimestamp: null }, spec: { accessModes: ['ReadWriteOnce'] }, status: { phase: 'Pending' } }],
    ...spec,
  },
});

describe('statefulset pod identity', () => {
  it('parses ordinals as upstream does', () => {
    assert.deepEqual(parentAndOrdinal({ metadata: { name: 'web-12' } }), { parent: 'web', ordinal: 12 });
    assert.deepEqual(parentAndOrdinal({ metadata: { name: 'my-web-0' } }), { parent: 'my-web', ordinal: 0 });
    assert.equal(parentAndOrdinal({ metadata: { name: 'web' } }).ordinal, -1);
    assert.equal(parentAndOrdinal({ metadata: { name: 'web-99999999999' } }).ordinal, -1, 'beyond int32');
  });

  it('builds pods with identity, storage and revision; the partition keeps lower ordinals at the current revision', () => {
    const current = set();
    const update = set({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i:2' }] } } });
    current.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    const low = newVersionedStatefulSetPod(current, update, 'web-a', 'web-b', 1);
    const high = newVersionedStatefulSetPod(current, update, 'web-a', 'web-b', 2);
    assert.equal(low.metadata!.labels!['controller-revision-hash'], 'web-a');
    assert.equal(low.spec.containers[0].image, 'i:1');
    assert.equal(high.metadata!.labels!['controller-revision-hash'], 'web-b');
    assert.equal(high.spec.containers[0].image, 'i:2');
    assert.equal(low.metadata!.name, 'web-1');
    assert.equal(low.spec.hostname, 'web-1');
    assert.equal(low.spec.subdomain, 'nginx');
    assert.deepEqual(low.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-1' } }, { name: 'cfg', configMap: { name: 'cfg' } }]);
    assert.equal(low.metadata!.ownerReferences![0].kind, 'StatefulSet');
    assert.ok(identityMatches(current, low) && storageMatches(current, low));
    const stripped = { ...low, metadata: { ...low.metadata, labels: { app: 'web' } } };
    assert.ok(!identityMatches(current, stripped));
    assert.ok(identityMatches(current, withIdentity(current, stripped)));
    assert.ok(!storageMatches(current, { ...low, spec: { ...low.spec, volumes: [] } }));
  });

  it('names claims <template>-<set>-<ordinal> with the selector labels', () => {
    const [claim] = claimsFor(set(), 4);
    assert.equal(claim.metadata!.name, 'data-web-4');
    assert.deepEqual(claim.metadata!.labels, { tier: 'db', app: 'web' });
    assert.equal(claim.metadata!.creationTimestamp, undefined);
    assert.equal(claim.status, undefined);
  });

  it('owns claims as the retention policy says', () => {
    const pod = { metadata: { name: 'web-4', uid: 'pod-uid' } };
    const claim: KubeObject = { metadata: { name: 'data-web-4' } };
    const retain = set();
    assert.ok(claimOwnersMatch(claim, retain, pod), 'Retain/Retain: no owners');
    const deleteAll = set({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
    // Ordinal 4 is beyond 3 replicas: scaled down, so the pod owns the claim, not the set.
    assert.ok(!claimOwnersMatch(claim, deleteAll, pod));
    const refs = claimOwnerReferences(claim, deleteAll, pod);
    assert.deepEqual(refs, [{ apiVersion: 'v1', kind: 'Pod', name: 'web-4', uid: 'pod-uid' }]);
    assert.ok(claimOwnersMatch({ metadata: { ownerReferences: refs } }, deleteAll, pod));
    const inRange = { metadata: { name: 'web-1', uid: 'pod-1' } };
    assert.deepEqual(claimOwnerReferences(claim, deleteAll, inRange), [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }]);
    assert.ok(claimIsStale({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-4', uid: 'old' }] } }, pod));
    assert.ok(!claimIsStale({ metadata: { ownerReferences: refs } }, pod));
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, eventually, refusal, type InProcessCluster } from '../../../test/harness/in-process.js';
import { InProcessClient } from '../../client/in-process.js';
import { NodeAuthorizer } from '../authz/node/authorizer.js';
import { alwaysAllow } from '../authz/types.js';
import { admitNodeEviction, admitNodeTokenRequest } from './node-restriction.js';
import type { UserInfo } from '../auth/user.js';
import type { OwnerReference } from '../../api/types.js';

const NODES = { group: '', version: 'v1', resource: 'nodes' };
const PODS = { group: '', version: 'v1', resource: 'pods' };
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
const MERGE = 'application/merge-patch+json';

const nodeUser = (name: string): UserInfo => ({ name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });
const node = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

describe('NodeRestriction admission', () => {
  let c: InProcessCluster;
  let authz: NodeAuthorizer;
  let a: InProcessClient;
  let b: InProcessClient;
  before(async () => {
    c = await startInProcessCluster('node-restriction');
    authz = new NodeAuthorizer(c.server.cache);
    authz.start();
    c.server.authorizer = authz;
    a = new InProcessClient(c.server, { user: nodeUser('a') });
    b = new InProcessClient(c.server, { user: nodeUser('b') });
  });
  after(async () => {
    c.server.authorizer = alwaysAllow;
    authz.stop();
    await c.stop();
  });

  it('lets a node register and change only its own Node, with the kubelet\'s labels only', async () => {
    assert.equal((await refusal(a.create(NODES, '', node('b')))).message, 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"');
    const labelled = await refusal(a.create(NODES, '', node('a', { 'node-restriction.kubernetes.io/pool': 'x', 'example.kubernetes.io/role': 'y' })));
    assert.equal(labelled.message, 'nodes "a" is forbidden: node "a" is not allowed to set the following labels: example.kubernetes.io/role, node-restriction.kubernetes.io/pool');
    await a.create(NODES, '', node('a', { 'kubernetes.io/hostname': 'a', 'node.kubernetes.io/exclude-from-external-load-balancers': '', team: 'x' }));
    await b.create(NODES, '', node('b'));
    await a.patch(NODES, '', 'a', MERGE, { metadata: { labels: { 'kubelet.kubernetes.io/ready': 'yes', other: 'ok' } } });
    const relabel = await refusal(a.patch(NODES, '', 'a', MERGE, { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }));
    assert.equal(relabel.message, 'nodes "a" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane');
    const taint = await refusal(a.patch(NODES, '', 'a', MERGE, { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } }));
    assert.equal(taint.message, 'nodes "a" is forbidden: node "a" is not allowed to modify taints');
    assert.equal((await refusal(a.patch(NODES, '', 'b', MERGE, { status: { phase: 'x' } }, { subresource: 'status' }))).message, 'nodes "b" is forbidden: node "a" is not allowed to modify node "b"');
    await a.patch(NODES, '', 'a', MERGE, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  });

  it('limits pod writes to pods bound to the node, and pod creation to its mirror pods', async () => {
    await c.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-b' }, spec: { nodeName: 'b', containers: [{ name: 'c', image: 'busybox' }] } });
    const status = await refusal(a.patch(PODS, 'default', 'on-b', MERGE, { status: { phase: 'Running' } }, { subresource: 'status' }));
    assert.equal(status.message, 'pods "on-b" is forbidden: node "a" can only update pod status for pods with spec.nodeName set to itself');
    await b.patch(PODS, 'default', 'on-b', MERGE, { status: { phase: 'Running' } }, { subresource: 'status' });
    assert.equal((await refusal(a.delete(PODS, 'default', 'on-b'))).message, 'pods "Unknown" is forbidden: node "a" can only delete pods with spec.nodeName set to itself');

    const plain = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'static' }, spec: { nodeName: 'a', containers: [{ name: 'c', image: 'busybox' }] } };
    assert.equal((await refusal(a.create(PODS, 'default', plain))).message, 'pods "static" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "a" can only create mirror pods');
    const self = await c.client.get(NODES, '', 'a');
    const mirror = (nodeName: string, owner: OwnerReference) => ({
      ...plain,
      metadata: { name: `static-${nodeName}`, annotations: { 'kubernetes.io/config.mirror': 'hash' }, ownerReferences: [owner] },
      spec: { ...plain.spec, nodeName },
    });
    const owner = { apiVersion: 'v1', kind: 'Node', name: 'a', uid: self.metadata!.uid!, controller: true };
    assert.equal((await refusal(a.create(PODS, 'default', mirror('b', owner)))).message, 'pods "static-b" is forbidden: node "a" can only create pods with spec.nodeName set to itself');
    assert.equal(
      (await refusal(a.create(PODS, 'default', mirror('a', { ...owner, controller: false })))).message,
      'pods "static-a" is forbidden: node "a" can only create pods with a controller owner reference set to itself',
    );
    assert.equal((await refusal(a.create(PODS, 'default', mirror('a', { ...owner, uid: 'nope' })))).message, `pods "static-a" is forbidden: node a UID mismatch: expected ${self.metadata!.uid} got nope`);
    const created = await a.create(PODS, 'default', mirror('a', owner));
    assert.equal(created.spec?.nodeName, 'a');
  });

  it('keeps a node to its own lease in kube-node-lease', async () => {
    const lease = (name: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: name } });
    assert.equal((await refusal(a.create(LEASES, 'kube-node-lease', lease('b')))).message, 'leases.coordination.k8s.io "b" is forbidden: can only access node lease with the same name as the requesting node');
    await a.create(LEASES, 'kube-node-lease', lease('a'));
  });

  it('binds token requests and evictions of a node to its own pods', async () => {
    const onB = await eventually('the pod is cached', async () => c.server.cache.resource('/registry/pods/').objects.get('/registry/pods/default/on-b')?.obj);
    const tr = (ref?: object) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { audiences: [], ...(ref ? { boundObjectRef: ref } : {}) } });
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'on-b', uid: onB.metadata!.uid };
    assert.throws(() => admitNodeTokenRequest(c.server.cache, nodeUser('b'), 'default', tr()), { message: 'serviceaccounts "Unknown" is forbidden: node requested token not bound to a pod' });
    assert.throws(() => admitNodeTokenRequest(c.server.cache, nodeUser('a'), 'default', tr(ref)), { message: 'serviceaccounts "Unknown" is forbidden: node requested token bound to a pod scheduled on a different node' });
    assert.throws(() => admitNodeTokenRequest(c.server.cache, nodeUser('b'), 'default', tr({ ...ref, uid: 'x' })), /does not match the UID in record/);
    admitNodeTokenRequest(c.server.cache, nodeUser('b'), 'default', tr(ref));
    admitNodeTokenRequest(c.server.cache, { name: 'alice', groups: [] }, 'default', tr());
    assert.throws(() => admitNodeEviction(c.server.cache, nodeUser('a'), 'default', 'on-b'), { message: 'pods "on-b" is forbidden: node a can only evict pods with spec.nodeName set to itself' });
    admitNodeEviction(c.server.cache, nodeUser('b'), 'default', 'on-b');
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'on-b', namespace: 'default' } };
    const refused = await refusal(a.create(PODS, 'default', eviction, { subresource: 'eviction' }));
    assert.equal(refused.message, 'pods "on-b" is forbidden: node a can only evict pods with spec.nodeName set to itself');
    await b.create(PODS, 'default', eviction, { subresource: 'eviction' });
    await eventually('the evicted pod is terminating', async () => !!(await c.client.get(PODS, 'default', 'on-b').catch(() => ({ metadata: { deletionTimestamp: 'gone' } }))).metadata?.deletionTimestamp);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, eventually, refusal, type InProcessCluster } from '../../../../test/harness/in-process.js';
import { InProcessClient } from '../../../client/in-process.js';
import { NodeAuthorizer } from './authorizer.js';
import type { Attributes } from '../types.js';
import type { UserInfo } from '../../auth/user.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const CONFIGMAPS = { group: '', version: 'v1', resource: 'configmaps' };
const PODS = { group: '', version: 'v1', resource: 'pods' };
const PVS = { group: '', version: 'v1', resource: 'persistentvolumes' };

const nodeUser = (name: string): UserInfo => ({ name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });

function attrs(user: UserInfo, a: Partial<Attributes>): Attributes {
  return { user, verb: 'get', resourceRequest: true, path: '', apiGroup: '', apiVersion: 'v1', resource: '', subresource: '', namespace: '', name: '', ...a };
}

describe('NodeAuthorizer', () => {
  let c: InProcessCluster;
  let authz: NodeAuthorizer;
  before(async () => {
    c = await startInProcessCluster('node-authz');
    authz = new NodeAuthorizer(c.server.cache);
    authz.start();
    c.server.authorizer = authz;
  });
  after(async () => {
    authz.stop();
    await c.stop();
  });

  it('lets a node read a secret only while a pod bound to it uses the secret', async () => {
    await c.client.create(SECRETS, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' } });
    await c.client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
    await c.client.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        nodeName: 'a',
        containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'cm' } }] }],
        volumes: [{ name: 'v', projected: { sources: [{ secret: { name: 's' } }] } }],
      },
    });
    const a = new InProcessClient(c.server, { user: nodeUser('a') });
    const b = new InProcessClient(c.server, { user: nodeUser('b') });
    await eventually('node a may read the secret', async () => (await a.get(SECRETS, 'default', 's').catch(() => undefined)) !== undefined);
    assert.equal((await a.get(CONFIGMAPS, 'default', 'cm')).metadata?.name, 'cm');
    const denied = await refusal(b.get(SECRETS, 'default', 's'));
    assert.equal(denied.code, 403);
    assert.equal(denied.message, `secrets "s" is forbidden: User "system:node:b" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'b' and this object`);
    // Listing every secret is not reading one the node's pods use.
    assert.equal((await refusal(a.list(SECRETS, 'default'))).message, `secrets is forbidden: User "system:node:a" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found`);

    await c.client.delete(PODS, 'default', 'p', { gracePeriodSeconds: 0 });
    await eventually('node a loses the secret', async () => (await a.get(SECRETS, 'default', 's').then(() => false, (e) => e.code === 403)));
  });

  it('follows claims to volumes and their secrets, and pods to their service accounts', async () => {
    await c.client.create(PVS, '', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv1' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        claimRef: { namespace: 'default', name: 'claim' },
        csi: { driver: 'x', volumeHandle: 'h', nodePublishSecretRef: { name: 'csi-secret', namespace: 'default' } },
      },
    });
    await c.client.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'q' },
      spec: { nodeName: 'a', containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'claim' } }] },
    });
    const a = nodeUser('a');
    await eventually('the graph sees the pod', async () => authz.authorize(attrs(a, { resource: 'persistentvolumeclaims', namespace: 'default', name: 'claim' })).decision === 'Allow');
    assert.equal(authz.authorize(attrs(a, { resource: 'persistentvolumes', name: 'pv1' })).decision, 'Allow');
    assert.equal(authz.authorize(attrs(a, { resource: 'secrets', namespace: 'default', name: 'csi-secret' })).decision, 'Allow');
    assert.equal(authz.authorize(attrs(nodeUser('b'), { resource: 'persistentvolumes', name: 'pv1' })).decision, 'NoOpinion');
    assert.deepEqual(authz.authorize(attrs(a, { verb: 'list', resource: 'persistentvolumes' })), { decision: 'NoOpinion', reason: 'can only get individual resources of this type' });
    const token = attrs(a, { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'default', name: 'default' });
    assert.equal(authz.authorize(token).decision, 'Allow', 'the service account admission gave the pod the default service account');
    assert.equal(authz.authorize({ ...token, name: 'other' }).reason, "no relationship found between node 'a' and this object");
    assert.equal(authz.authorize({ ...token, subresource: '' }).reason, 'can only create token subresource of serviceaccount');
  });

  it('limits nodes, leases and pods to the node itself, and applies the system:node rules to the rest', () => {
    const a = nodeUser('a');
    const decide = (x: Partial<Attributes>) => authz.authorize(attrs(a, x));
    assert.equal(decide({ resource: 'nodes', name: 'a' }).decision, 'Allow');
    assert.equal(decide({ verb: 'list', resource: 'nodes', name: 'a' }).decision, 'Allow');
    assert.equal(decide({ resource: 'nodes', name: 'b' }).reason, "node 'a' cannot read 'b', only its own Node object");
    assert.equal(decide({ verb: 'list', resource: 'nodes' }).reason, "node 'a' cannot read all nodes, only its own Node object");
    assert.equal(decide({ verb: 'patch', resource: 'nodes', subresource: 'status', name: 'a' }).decision, 'Allow');
    const lease = { apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease' };
    assert.equal(decide({ ...lease, verb: 'update', name: 'a' }).decision, 'Allow');
    assert.equal(decide({ ...lease, verb: 'update', name: 'b' }).reason, 'can only access node lease with the same name as the requesting node');
    assert.equal(decide({ ...lease, verb: 'get', namespace: 'default', name: 'a' }).reason, 'can only access leases in the "kube-node-lease" system namespace');
    assert.equal(decide({ ...lease, verb: 'list' }).reason, 'can only get, create, update, patch, or delete a node lease');
    assert.equal(decide({ verb: 'watch', resource: 'pods', fieldSelector: 'spec.nodeName=a' }).decision, 'Allow');
    assert.equal(decide({ verb: 'watch', resource: 'pods', fieldSelector: 'spec.nodeName=b' }).reason, 'can only list/watch pods with spec.nodeName field selector');
    assert.equal(decide({ verb: 'update', resource: 'pods', subresource: 'status', namespace: 'default', name: 'x' }).decision, 'Allow');
    assert.equal(decide({ verb: 'create', resource: 'events', namespace: 'default' }).decision, 'Allow');
    assert.equal(decide({ verb: 'list', resource: 'services' }).decision, 'Allow');
    assert.equal(decide({ verb: 'delete', resource: 'services', namespace: 'default', name: 'x' }).decision, 'NoOpinion');
    assert.equal(decide({ verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace: 'default', name: 'x' }).decision, 'NoOpinion');
    // Not a node: the node authorizer has no opinion at all.
    assert.deepEqual(authz.authorize(attrs({ name: 'system:node:a', groups: ['system:authenticated'] }, { resource: 'nodes', name: 'a' })), { decision: 'NoOpinion', reason: '' });
    assert.equal(authz.authorize(attrs({ name: 'system:node:', groups: ['system:nodes'] }, { resource: 'nodes' })).reason, 'unknown node for user "system:node:"');
  });

  it('moves a pod\'s edges when only the pod changes (incremental graph)', () => {
    const g = authz.graph;
    const pod = (node: string, secret: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns', name: 'x' }, spec: { nodeName: node, imagePullSecrets: [{ name: secret }], containers: [] } });
    g.setPod('ns/x', pod('n1', 's1'));
    g.setPod('ns/y', { ...pod('n1', 's1'), metadata: { namespace: 'ns', name: 'y' } });
    assert.ok(g.hasPathFrom('n1', 'secret', 'ns', 's1'));
    g.setPod('ns/x', pod('n2', 's2'));
    assert.ok(g.hasPathFrom('n1', 'secret', 'ns', 's1'), 'still used by the other pod');
    assert.ok(!g.hasPathFrom('n1', 'secret', 'ns', 's2'));
    assert.ok(g.hasPathFrom('n2', 'secret', 'ns', 's2'));
    g.deletePod('ns/y');
    assert.ok(!g.hasPathFrom('n1', 'secret', 'ns', 's1'));
    g.deletePod('ns/x');
    assert.ok(!g.hasPathFrom('n2', 'secret', 'ns', 's2'));
    // Ephemeral containers are the one part of a pod's references that can grow.
    g.setPod('ns/x', pod('n1', 's1'));
    g.setPod('ns/x', { ...pod('n1', 's1'), spec: { ...pod('n1', 's1').spec, ephemeralContainers: [{ name: 'debug', envFrom: [{ secretRef: { name: 'debug-secret' } }] }] } });
    assert.ok(g.hasPathFrom('n1', 'secret', 'ns', 'debug-secret'));
    assert.ok(g.hasPathFrom('n1', 'secret', 'ns', 's1'));
  });
});

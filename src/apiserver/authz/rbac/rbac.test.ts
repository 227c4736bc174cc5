import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, refusal, type InProcessCluster } from '../../../../test/harness/in-process.js';
import { InProcessClient } from '../../../client/in-process.js';
import type { KubeObject } from '../../../api/types.js';
import type { UserInfo } from '../../auth/user.js';
import { UnionAuthorizer, type Attributes } from '../types.js';
import { RbacAuthorizer } from './authorizer.js';
import { CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS } from './bootstrap-policy.js';
import { ClusterRoleAggregationController } from '../../../controllers/clusterrole-aggregation.js';
import { SharedInformers } from '../../../client/shared-informers.js';
import { newControllerContext } from '../../../controllers/context.js';

const PODS = { group: '', version: 'v1', resource: 'pods' };
const G = 'rbac.authorization.k8s.io';

async function withRbac(name: string, fn: (c: InProcessCluster, rbac: RbacAuthorizer, aggregate: () => Promise<void>) => Promise<void>) {
  const c = await startInProcessCluster(name);
  const rbac = new RbacAuthorizer(c.server.cache);
  rbac.start();
  c.server.authorizer = new UnionAuthorizer([rbac]);
  c.server.ruleResolver = rbac;
  const informers = new SharedInformers(c.client);
  const agg = new ClusterRoleAggregationController(newControllerContext(c.client, informers));
  informers.start();
  await agg.start();
  try {
    await fn(c, rbac, async () => {
      // Aggregation is asynchronous; wait until admin holds what edit and view hold.
      for (let i = 0; i < 500; i++) {
        const admin = await c.client.get(CLUSTER_ROLES, '', 'admin');
        if (((admin as { rules?: unknown[] }).rules ?? []).length > 10) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.fail('admin was never aggregated');
    });
  } finally {
    await agg.stop();
    informers.stop();
    rbac.stop();
    await c.stop();
  }
}

const user = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
const res = (u: UserInfo, verb: string, resource: string, namespace = '', name = '', group = '', subresource = ''): Attributes => ({
  user: u,
  verb,
  resourceRequest: true,
  path: '',
  apiGroup: group,
  apiVersion: 'v1',
  resource,
  subresource,
  namespace,
  name,
});
const nonRes = (u: UserInfo, verb: string, path: string): Attributes => ({ ...res(u, verb, ''), resourceRequest: false, path });

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, roleKind: string, role: string, subjects: object[], namespace?: string): KubeObject {
  return { apiVersion: `${G}/v1`, kind, metadata: { name, namespace }, roleRef: { apiGroup: G, kind: roleKind, name: role }, subjects } as KubeObject;
}

test('RBAC decides from roles and bindings made through the API: users, groups, service accounts, names, subresources, URLs', async () => {
  await withRbac('rbac-authz', async (c, rbac) => {
    await c.client.create({ group: '', version: 'v1', resource: 'namespaces' }, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await c.client.create(ROLES, 'team', {
      apiVersion: `${G}/v1`,
      kind: 'Role',
      metadata: { name: 'pod-reader', namespace: 'team' },
      rules: [
        { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] },
        { verbs: ['update'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] },
      ],
    } as KubeObject);
    await c.client.create(ROLE_BINDINGS, 'team', binding('RoleBinding', 'readers', 'Role', 'pod-reader', [
      { kind: 'User', apiGroup: G, name: 'alice' },
      { kind: 'Group', apiGroup: G, name: 'devs' },
      { kind: 'ServiceAccount', name: 'robot' }, // namespace defaults to the binding's
    ], 'team'));
    await c.client.create(CLUSTER_ROLE_BINDINGS, '', binding('ClusterRoleBinding', 'ops-view', 'ClusterRole', 'view', [{ kind: 'Group', apiGroup: G, name: 'ops' }]));
    await c.client.create(CLUSTER_ROLE_BINDINGS, '', binding('ClusterRoleBinding', 'dangling', 'ClusterRole', 'no-such-role', [{ kind: 'User', apiGroup: G, name: 'carol' }]));

    const alice = user('alice');
    const dev = user('dan', 'devs');
    const robot = user('system:serviceaccount:team:robot', 'system:serviceaccounts', 'system:serviceaccounts:team');
    const otherRobot = user('system:serviceaccount:other:robot', 'system:serviceaccounts', 'system:serviceaccounts:other');
    const allow = (a: Attributes) => rbac.authorize(a).decision === 'Allow';
    assert.ok(allow(res(alice, 'get', 'pods', 'team', 'p')));
    assert.ok(allow(res(alice, 'get', 'pods', 'team', 'p', '', 'log')));
    assert.ok(!allow(res(alice, 'get', 'pods', 'team', 'p', '', 'exec')));
    assert.ok(!allow(res(alice, 'get', 'pods', 'other', 'p')), 'a RoleBinding grants in its namespace only');
    assert.ok(!allow(res(alice, 'delete', 'pods', 'team', 'p')));
    assert.ok(allow(res(alice, 'update', 'configmaps', 'team', 'settings')));
    assert.ok(!allow(res(alice, 'update', 'configmaps', 'team', 'other')));
    assert.ok(allow(res(dev, 'list', 'pods', 'team')));
    assert.ok(allow(res(robot, 'list', 'pods', 'team')));
    assert.ok(!allow(res(otherRobot, 'list', 'pods', 'team')));
    // every authenticated user may discover and read health (system:discovery, system:public-info-viewer)
    assert.ok(allow(nonRes(alice, 'get', '/apis/apps/v1')));
    assert.ok(allow(nonRes(alice, 'get', '/healthz')));
    assert.ok(!allow(nonRes(alice, 'get', '/metrics')));
    assert.ok(allow(nonRes({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'get', '/version')));
    assert.ok(!allow(nonRes({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'get', '/apis')));
    // a binding to a missing role: NoOpinion with upstream's reason
    assert.deepEqual(rbac.authorize(res(user('carol'), 'get', 'pods', 'team', 'p')), { decision: 'NoOpinion', reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found' });
    assert.deepEqual(rbac.authorize(res(alice, 'delete', 'pods', 'team', 'p')), { decision: 'NoOpinion', reason: '' });
    const rules = rbac.rulesFor(alice, 'team');
    assert.ok(rules.resourceRules.some((r) => r.resources?.includes('pods/log')));
    assert.ok(rules.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/healthz')));
    assert.equal(rules.incomplete, false);
    assert.equal(rbac.rulesFor(user('carol'), '').incomplete, true);

    // changes take effect at once: delete the binding, alice loses access
    await c.client.delete(ROLE_BINDINGS, 'team', 'readers');
    await waitFor(() => !allow(res(alice, 'get', 'pods', 'team', 'p')));

    // an in-process client acting as a user gets upstream's 403
    const err = await refusal(new InProcessClient(c.server, { user: alice }).get(PODS, 'team', 'p'));
    assert.equal(err.code, 403);
    assert.equal(err.message, 'pods "p" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "team"');
  });
});

test('bootstrap policy: view reads pods but not secrets, edit cannot write roles, admin can through a RoleBinding', async () => {
  await withRbac('rbac-bootstrap', async (c, rbac, aggregated) => {
    await aggregated();
    for (const [who, role] of [['viewer', 'view'], ['editor', 'edit'], ['boss', 'admin']]) {
      await c.client.create(ROLE_BINDINGS, 'default', binding('RoleBinding', who, 'ClusterRole', role, [{ kind: 'User', apiGroup: G, name: who }], 'default'));
    }
    const allow = (a: Attributes) => rbac.authorize(a).decision === 'Allow';
    await waitFor(() => allow(res(user('viewer'), 'get', 'pods', 'default', 'p')));
    assert.ok(!allow(res(user('viewer'), 'get', 'secrets', 'default', 's')));
    assert.ok(!allow(res(user('viewer'), 'get', 'pods', 'kube-system', 'p')));
    await waitFor(() => allow(res(user('editor'), 'create', 'deployments', 'default', '', 'apps')));
    assert.ok(allow(res(user('editor'), 'get', 'secrets', 'default', 's')));
    assert.ok(!allow(res(user('editor'), 'create', 'roles', 'default', '', G)));
    await waitFor(() => allow(res(user('boss'), 'create', 'roles', 'default', '', G)));
    assert.ok(allow(res(user('boss'), 'create', 'rolebindings', 'default', '', G)));
    assert.ok(!allow(res(user('boss'), 'create', 'clusterroles', '', '', G)));
  });
});

test('escalation: binding needs the role\'s rules or bind; roles need the rules or escalate; upstream\'s message', async () => {
  await withRbac('rbac-escalation', async (c) => {
    // binder may create rolebindings in default, nothing else
    await c.client.create(ROLES, 'default', { apiVersion: `${G}/v1`, kind: 'Role', metadata: { name: 'binder', namespace: 'default' }, rules: [{ verbs: ['create'], apiGroups: [G], resources: ['rolebindings', 'roles'] }, { verbs: ['get'], apiGroups: [''], resources: ['pods'] }] } as KubeObject);
    await c.client.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'binder', 'Role', 'binder', [{ kind: 'User', apiGroup: G, name: 'bob' }], 'default'));
    const bob = new InProcessClient(c.server, { user: { name: 'bob', groups: ['system:authenticated'] } });
    await waitForOk(() => bob.get(PODS, 'default', 'nope').catch((e) => (e.code === 404 ? true : e.code === 403 ? undefined : Promise.reject(e))));

    const err = await refusal(bob.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'sneaky', 'ClusterRole', 'cluster-admin', [{ kind: 'User', apiGroup: G, name: 'bob' }])));
    assert.equal(err.code, 403);
    assert.equal(
      err.message,
      'rolebindings.rbac.authorization.k8s.io "sneaky" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    );

    // bob holds get pods: he may grant exactly that, in a Role and through a binding to it
    await bob.create(ROLES, 'default', { apiVersion: `${G}/v1`, kind: 'Role', metadata: { name: 'getter' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] } as KubeObject);
    await bob.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'getters', 'Role', 'getter', [{ kind: 'User', apiGroup: G, name: 'eve' }]));
    const roleErr = await refusal(bob.create(ROLES, 'default', { apiVersion: `${G}/v1`, kind: 'Role', metadata: { name: 'more' }, rules: [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods', 'secrets'] }] } as KubeObject));
    assert.equal(
      roleErr.message,
      'roles.rbac.authorization.k8s.io "more" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}',
    );
    const missing = await refusal(bob.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'x', 'Role', 'absent', [])));
    assert.equal(missing.code, 404);

    // with bind on cluster-admin, bob may bind it (here, in his namespace)
    await c.client.create(ROLES, 'default', { apiVersion: `${G}/v1`, kind: 'Role', metadata: { name: 'bind-admin', namespace: 'default' }, rules: [{ verbs: ['bind'], apiGroups: [G], resources: ['clusterroles'], resourceNames: ['cluster-admin'] }] } as KubeObject);
    await c.client.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'bind-admin', 'Role', 'bind-admin', [{ kind: 'User', apiGroup: G, name: 'bob' }], 'default'));
    await waitForOk(() => bob.create(ROLE_BINDINGS, 'default', binding('RoleBinding', 'sneaky', 'ClusterRole', 'cluster-admin', [{ kind: 'User', apiGroup: G, name: 'bob' }])).catch((e) => (e.code === 403 ? undefined : Promise.reject(e))));
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('condition never held');
}

async function waitForOk(fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await fn()) !== undefined) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('never succeeded');
}

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { ALLOW, NO_OPINION, alwaysAllow, type Attributes, type Authorizer } from '../authz/types.js';

/** alice may impersonate bob, group "devs", uid "u-1", extra scopes=read and the service account ns1/robot; mallory nothing. */
const impersonationRules: Authorizer = {
  authorize(a: Attributes) {
    if (a.verb !== 'impersonate') return ALLOW;
    if (a.user.name !== 'alice') return NO_OPINION;
    const ok =
      (a.resource === 'users' && a.name === 'bob') ||
      (a.resource === 'groups' && a.name === 'devs') ||
      (a.apiGroup === 'authentication.k8s.io' && a.resource === 'uids' && a.name === 'u-1') ||
      (a.apiGroup === 'authentication.k8s.io' && a.resource === 'userextras' && a.subresource === 'scopes' && a.name === 'read') ||
      (a.resource === 'serviceaccounts' && a.namespace === 'ns1' && a.name === 'robot');
    return ok ? ALLOW : NO_OPINION;
  },
};

describe('impersonation', () => {
  let c: InProcessCluster;
  let base = '';
  before(async () => {
    c = await startInProcessCluster('impersonation', { serviceAccounts: false });
    c.server.tokenAuthenticators.push({
      authenticateToken: (t) => (t === 'alice' || t === 'mallory' ? { user: { name: t, groups: ['system:authenticated'] } } : undefined),
    });
    c.server.authorizer = impersonationRules;
    base = `http://127.0.0.1:${await c.server.listen(0)}`;
  });
  after(async () => {
    c.server.authorizer = alwaysAllow;
    await c.stop();
  });

  async function whoami(token: string, headers: [string, string][]): Promise<{ status: number; body: any }> {
    const h = new Headers({ 'Content-Type': 'application/json', Authorization: `Bearer ${token}` });
    for (const [k, v] of headers) h.append(k, v);
    const res = await fetch(`${base}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('runs the request as the impersonated user, groups, uid and extras once each is allowed', async () => {
    const r = await whoami('alice', [
      ['Impersonate-User', 'bob'],
      ['Impersonate-Group', 'devs'],
      ['Impersonate-Uid', 'u-1'],
      ['Impersonate-Extra-Scopes', 'read'],
    ]);
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.status.userInfo, { username: 'bob', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { scopes: ['read'] } });
    const none = await whoami('alice', []);
    assert.equal(none.body.status.userInfo.username, 'alice');
  });

  it('gives an impersonated service account its groups', async () => {
    const r = await whoami('alice', [['Impersonate-User', 'system:serviceaccount:ns1:robot']]);
    assert.deepEqual(r.body.status.userInfo, { username: 'system:serviceaccount:ns1:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'] });
  });

  it('refuses what the requester may not impersonate with upstream\'s 403', async () => {
    const user = await whoami('mallory', [['Impersonate-User', 'bob']]);
    assert.equal(user.status, 403);
    assert.equal(user.body.message, 'users "bob" is forbidden: User "mallory" cannot impersonate resource "users" in API group "" at the cluster scope');
    const group = await whoami('alice', [['Impersonate-User', 'bob'], ['Impersonate-Group', 'admins']]);
    assert.equal(group.status, 403);
    assert.equal(group.body.message, 'groups "admins" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope');
    const extra = await whoami('alice', [['Impersonate-User', 'bob'], ['Impersonate-Extra-Scopes', 'write']]);
    assert.equal(extra.body.message, 'userextras.authentication.k8s.io "write" is forbidden: User "alice" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope');
    const sa = await whoami('alice', [['Impersonate-User', 'system:serviceaccount:ns2:robot']]);
    assert.equal(sa.body.message, 'serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns2"');
  });

  it('refuses groups, uids or extras without a user', async () => {
    const r = await whoami('alice', [['Impersonate-Group', 'devs']]);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /without impersonating a user$/);
  });
});

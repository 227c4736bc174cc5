import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../../../test/harness/in-process.js';
import { ALLOW, NO_OPINION, alwaysAllow, type Attributes, type Authorizer } from './types.js';

/** Alice may get pods in namespace "a"; "carol" is refused outright; the rest have no opinion. */
const testAuthorizer: Authorizer = {
  authorize(a: Attributes) {
    if (a.user.name === 'carol') return { decision: 'Deny', reason: 'carol is banned' };
    if (a.user.name === 'alice' && a.verb === 'get' && a.resource === 'pods' && a.namespace === 'a') return ALLOW;
    if (a.user.name === 'alice' && a.resource.endsWith('reviews')) return ALLOW;
    if (a.user.name === 'alice' && !a.resourceRequest && a.path === '/healthz') return ALLOW;
    return { ...NO_OPINION, reason: 'nobody said yes' };
  },
};

describe('access reviews over HTTP', () => {
  let c: InProcessCluster;
  let base = '';
  before(async () => {
    c = await startInProcessCluster('reviews', { serviceAccounts: false });
    c.server.tokenAuthenticators.push({ authenticateToken: (t) => (t === 'alice-token' ? { user: { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { scopes: ['x'] } } } : undefined) });
    base = `http://127.0.0.1:${await c.server.listen(0)}`;
  });
  after(async () => {
    c.server.authorizer = alwaysAllow;
    await c.stop();
  });

  async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }
  const SAR = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
  const sar = (spec: object) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec });

  it('SubjectAccessReview reports allowed, denied and the reason', async () => {
    c.server.authorizer = testAuthorizer;
    const ok = await post(SAR, sar({ user: 'alice', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'a' } }));
    assert.equal(ok.status, 201);
    assert.equal(ok.body.kind, 'SubjectAccessReview');
    assert.equal(ok.body.apiVersion, 'authorization.k8s.io/v1');
    assert.deepEqual(ok.body.status, { allowed: true });
    assert.equal(ok.body.spec.user, 'alice');
    const no = await post(SAR, sar({ user: 'alice', resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'a' } }));
    assert.deepEqual(no.body.status, { allowed: false, reason: 'nobody said yes' });
    const denied = await post(SAR, sar({ user: 'carol', nonResourceAttributes: { verb: 'get', path: '/healthz' } }));
    assert.deepEqual(denied.body.status, { allowed: false, denied: true, reason: 'carol is banned' });
    const masters = await post(SAR, sar({ user: 'x', groups: ['system:masters'], resourceAttributes: { verb: 'delete', resource: 'nodes' } }));
    assert.deepEqual(masters.body.status, { allowed: true });
  });

  it('refuses reviews that name no subject or no attributes, as upstream', async () => {
    const none = await post(SAR, sar({ resourceAttributes: { verb: 'get', resource: 'pods' } }));
    assert.equal(none.status, 422);
    assert.equal(none.body.message, 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified');
    const both = await post(SAR, sar({ user: 'a', resourceAttributes: {}, nonResourceAttributes: {} }));
    assert.match(both.body.message, /spec.nonResourceAttributes: Invalid value: \{\}: cannot be specified in combination with resourceAttributes/);
    const neither = await post(SAR, sar({ user: 'a' }));
    assert.match(neither.body.message, /spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified/);
  });

  it('LocalSubjectAccessReview stays inside the request namespace', async () => {
    const path = '/apis/authorization.k8s.io/v1/namespaces/a/localsubjectaccessreviews';
    const ok = await post(path, { apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', spec: { user: 'alice', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'a' } } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.metadata.namespace, 'a');
    assert.deepEqual(ok.body.status, { allowed: true });
    const other = await post(path, { apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', spec: { user: 'alice', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'b' } } });
    assert.equal(other.status, 422);
    assert.equal(other.body.message, 'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "b": must match metadata.namespace');
    const mismatch = await post(path, { apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', metadata: { namespace: 'b' }, spec: { user: 'alice', resourceAttributes: { namespace: 'b' } } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.message, 'the namespace of the provided object does not match the namespace sent on the request');
  });

  it('SelfSubjectAccessReview asks about the requester, and SelfSubjectReview says who that is', async () => {
    c.server.authorizer = testAuthorizer;
    const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    const review = (res: object) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: res } });
    assert.deepEqual((await post(path, review({ verb: 'get', resource: 'pods', namespace: 'a' }), 'alice-token')).body.status, { allowed: true });
    assert.deepEqual((await post(path, review({ verb: 'get', resource: 'pods', namespace: 'b' }), 'alice-token')).body.status, { allowed: false, reason: 'nobody said yes' });
    // Without a token the plain-HTTP server's user is an administrator (system:masters).
    assert.deepEqual((await post(path, review({ verb: 'get', resource: 'pods', namespace: 'b' }))).body.status, { allowed: true });
    const who = await post('/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, 'alice-token');
    assert.equal(who.status, 201);
    assert.equal(who.body.kind, 'SelfSubjectReview');
    assert.deepEqual(who.body.status, { userInfo: { username: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { scopes: ['x'] } } });
  });

  it('SelfSubjectRulesReview lists the rules from the rule resolver', async () => {
    const path = '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews';
    const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'a' } };
    c.server.authorizer = testAuthorizer;
    const without = await post(path, body, 'alice-token');
    assert.equal(without.status, 201);
    assert.equal(without.body.status.incomplete, true);
    c.server.ruleResolver = {
      rulesFor: (user, ns) => ({ resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: [] }], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: [`/${user.name}/${ns}`] }], incomplete: false }),
    };
    try {
      const r = await post(path, body, 'alice-token');
      assert.deepEqual(r.body.status, { resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/alice/a'] }], incomplete: false });
    } finally {
      c.server.ruleResolver = undefined;
    }
    const noNs = await post(path, { ...body, spec: {} }, 'alice-token');
    assert.equal(noNs.status, 400);
    assert.equal(noNs.body.message, 'no namespace on request');
  });

  it('serves the reviews as create-only kinds in discovery', async () => {
    const res = await fetch(`${base}/apis/authorization.k8s.io/v1`);
    const list = (await res.json()) as { resources: { name: string; namespaced: boolean; verbs: string[] }[] };
    const byName = new Map(list.resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('subjectaccessreviews')?.verbs, ['create']);
    assert.equal(byName.get('localsubjectaccessreviews')?.namespaced, true);
    assert.equal((await fetch(`${base}/apis/authorization.k8s.io/v1/subjectaccessreviews`)).status, 405);
  });
});

/**
 * `kubectl auth` against `skiff up` with the real kubectl: can-i (SelfSubjectAccessReview), can-i
 * --list (SelfSubjectRulesReview), whoami (SelfSubjectReview), and --as/--as-group impersonation,
 * as the administrator of the admin kubeconfig.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, kubectl } from '../harness/skiff.js';
import { kubectlSuite } from './kubectl-helpers.js';

describe('kubectl auth', () => {
  const s = kubectlSuite('sqlite', API_ONLY_ARGS);

  it('can-i answers yes for the administrator, for resources and paths', async () => {
    assert.equal(await s.k('auth', 'can-i', 'create', 'pods'), 'yes\n');
    assert.equal(await s.k('auth', 'can-i', 'delete', 'nodes', '--all-namespaces'), 'yes\n');
    assert.equal(await s.k('auth', 'can-i', 'get', '/healthz'), 'yes\n');
    assert.equal(await s.k('auth', 'can-i', '*', '*'), 'yes\n');
  });

  it('can-i --list prints the rules the administrator holds', async () => {
    const out = await s.k('auth', 'can-i', '--list');
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/);
    assert.ok(lines.some((l) => /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/.test(l)), out);
    assert.ok(lines.some((l) => /^\s+\[\*\]\s+\[\]\s+\[\*\]$/.test(l)), out);
  });

  it('whoami shows the user of the client certificate', async () => {
    const out = await s.k('auth', 'whoami', '-o', 'json');
    const review = JSON.parse(out);
    assert.equal(review.kind, 'SelfSubjectReview');
    assert.equal(review.apiVersion, 'authentication.k8s.io/v1');
    assert.ok(review.status.userInfo.groups.includes('system:masters'), out);
    assert.ok(review.status.userInfo.groups.includes('system:authenticated'), out);
    const table = await s.k('auth', 'whoami');
    assert.match(table, /^ATTRIBUTE\s+VALUE\nUsername\s+\S+\nGroups\s+\[.*system:masters.*\]\n$/);
  });

  it('--as and --as-group impersonate another user', async () => {
    const table = await s.k('--as', 'bob', '--as-group', 'g', 'auth', 'whoami');
    assert.equal(table, 'ATTRIBUTE   VALUE\nUsername    bob\nGroups      [g system:authenticated]\n');
    const review = JSON.parse(await s.k('--as', 'system:serviceaccount:default:robot', 'auth', 'whoami', '-o', 'json'));
    assert.deepEqual(review.status.userInfo, { username: 'system:serviceaccount:default:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] });
    // Groups without a user are refused.
    const lone = await kubectl(s.server(), ['--as-group', 'g', 'auth', 'whoami']);
    assert.notEqual(lone.code, 0);
  });

  it('a subject access review names another user', async () => {
    const sar = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'bob', groups: ['system:masters'], resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } },
    });
    const out = JSON.parse(await s.kIn(sar, 'create', '-f', '-', '-o', 'json'));
    assert.equal(out.status.allowed, true);
    const bad = await kubectl(s.server(), ['create', '-f', '-', '-o', 'json'], JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { resourceAttributes: { verb: 'get' } } }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /at least one of user or group must be specified/);
  });
});

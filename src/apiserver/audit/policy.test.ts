import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '../authz/types.js';
import { parsePolicy, PolicyRuleEvaluator, validatePolicy, type Policy } from './policy.js';

function attrs(p: Partial<Attributes>): Attributes {
  return {
    user: { name: 'alice', groups: ['dev', 'system:authenticated'] },
    verb: 'get',
    resourceRequest: true,
    path: '/api/v1/namespaces/default/pods/p',
    apiGroup: '',
    apiVersion: 'v1',
    resource: 'pods',
    subresource: '',
    namespace: 'default',
    name: 'p',
    ...p,
  };
}

describe('audit policy', () => {
  const policy: Policy = {
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'None', users: ['system:kube-proxy'], verbs: ['watch'] },
      { level: 'None', userGroups: ['system:nodes'], nonResourceURLs: ['/healthz*', '/version'] },
      { level: 'Metadata', resources: [{ group: '', resources: ['pods/log', 'pods/status'] }] },
      { level: 'RequestResponse', resources: [{ group: '', resources: ['secrets'], resourceNames: ['top-secret'] }], omitManagedFields: true },
      { level: 'Request', resources: [{ group: 'apps', resources: ['deployments/*'] }], omitStages: ['ResponseStarted'] },
      { level: 'Request', resources: [{ group: '', resources: ['*/exec'] }] },
      { level: 'None', namespaces: ['kube-system'] },
      { level: 'Request', verbs: ['create', 'update'], resources: [{ group: 'rbac.authorization.k8s.io' }] },
      { level: 'Metadata' },
    ],
  };
  const e = new PolicyRuleEvaluator(policy);

  it('the first matching rule decides', () => {
    assert.equal(e.evaluate(attrs({ user: { name: 'system:kube-proxy', groups: [] }, verb: 'watch' })).level, 'None');
    assert.equal(e.evaluate(attrs({ user: { name: 'system:kube-proxy', groups: [] }, verb: 'list' })).level, 'Metadata');
    assert.equal(e.evaluate(attrs({ subresource: 'log' })).level, 'Metadata');
    assert.equal(e.evaluate(attrs({ namespace: 'kube-system', subresource: 'log' })).level, 'Metadata', 'pods/log matched before the namespace rule');
    assert.equal(e.evaluate(attrs({ namespace: 'kube-system' })).level, 'None');
  });

  it('matches users, groups and non-resource URLs with trailing wildcards', () => {
    const node = { name: 'system:node:n1', groups: ['system:nodes'] };
    const nr = (path: string) => attrs({ user: node, resourceRequest: false, path, resource: '', namespace: '', name: '' });
    assert.equal(e.evaluate(nr('/healthz')).level, 'None');
    assert.equal(e.evaluate(nr('/healthz/etcd')).level, 'None');
    assert.equal(e.evaluate(nr('/version')).level, 'None');
    assert.equal(e.evaluate(nr('/versionz')).level, 'Metadata');
    assert.equal(e.evaluate({ ...nr('/healthz'), user: { name: 'bob', groups: [] } }).level, 'Metadata');
  });

  it('matches resource names, subresource wildcards and resource/* ', () => {
    assert.equal(e.evaluate(attrs({ resource: 'secrets', name: 'top-secret' })).level, 'RequestResponse');
    assert.equal(e.evaluate(attrs({ resource: 'secrets', name: 'other' })).level, 'Metadata');
    assert.equal(e.evaluate(attrs({ apiGroup: 'apps', resource: 'deployments', subresource: 'scale' })).level, 'Request');
    // "resource/*" covers the resource itself and all its subresources, as upstream.
    assert.equal(e.evaluate(attrs({ apiGroup: 'apps', resource: 'deployments' })).level, 'Request');
    assert.equal(e.evaluate(attrs({ apiGroup: 'apps', resource: 'replicasets' })).level, 'Metadata');
    assert.equal(e.evaluate(attrs({ subresource: 'exec' })).level, 'Request');
    assert.equal(e.evaluate(attrs({ apiGroup: 'rbac.authorization.k8s.io', resource: 'roles', verb: 'create' })).level, 'Request');
    assert.equal(e.evaluate(attrs({ apiGroup: 'rbac.authorization.k8s.io', resource: 'roles', verb: 'get' })).level, 'Metadata');
  });

  it('joins the policy\'s omitStages with the rule\'s, and carries omitManagedFields', () => {
    const c = e.evaluate(attrs({ apiGroup: 'apps', resource: 'deployments', subresource: 'status' }));
    assert.deepEqual([...c.omitStages].sort(), ['RequestReceived', 'ResponseStarted']);
    assert.equal(e.evaluate(attrs({ resource: 'secrets', name: 'top-secret' })).omitManagedFields, true);
    const none = new PolicyRuleEvaluator({ rules: [{ level: 'Metadata', users: ['x'] }], omitStages: ['Panic'] }).evaluate(attrs({}));
    assert.equal(none.level, 'None');
    assert.deepEqual([...none.omitStages], ['Panic']);
  });

  it('validates with upstream\'s messages', () => {
    const errs = validatePolicy({
      omitStages: ['Nope' as never],
      rules: [
        { level: 'Loud' as never },
        { level: 'Metadata', nonResourceURLs: ['healthz', '/a*b'], resources: [{ resourceNames: ['x'] }] },
      ],
    });
    assert.deepEqual(errs, [
      'omitStages[0]: Invalid value: "Nope": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic',
      'rules[0].level: Unsupported value: "Loud": supported values: "None", "Metadata", "Request", "RequestResponse"',
      `rules[1].nonResourceURLs[0]: Invalid value: "healthz": non-resource URL rules must begin with a '/' character`,
      `rules[1].nonResourceURLs[1]: Invalid value: "/a*b": non-resource URL wildcards '*' must be the final character of the rule`,
      'rules[1].resources.resourceNames: Invalid value: []string{"x"}: using resourceNames requires at least one resource',
      'rules[1].nonResourceURLs: Invalid value: []string{"healthz", "/a*b"}: rules cannot apply to both regular resources and non-resource URLs',
    ]);
    assert.throws(() => parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n'), /loaded illegal policy with 0 rules/);
    assert.throws(() => parsePolicy('apiVersion: v1\nkind: ConfigMap\n'), /unknown group version field v1, Kind=ConfigMap in policy/);
    assert.equal(parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]\n').rules.length, 1);
  });
});

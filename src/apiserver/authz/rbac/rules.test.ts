import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '../types.js';
import { compactRules, compactString, covers, ruleAllows, type PolicyRule } from './rules.js';

const user = { name: 'u', groups: [] };
const req = (verb: string, group: string, resource: string, subresource = '', name = ''): Attributes => ({
  user,
  verb,
  resourceRequest: true,
  path: '',
  apiGroup: group,
  apiVersion: 'v1',
  resource,
  subresource,
  namespace: 'ns',
  name,
});
const url = (verb: string, path: string): Attributes => ({ ...req(verb, '', ''), resourceRequest: false, path });

test('resource rules match as upstream RuleAllows', () => {
  const cases: [PolicyRule, Attributes, boolean][] = [
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, req('get', '', 'pods'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, req('list', '', 'pods'), false],
    [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }, req('deletecollection', '', 'pods'), true],
    [{ verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, req('get', '', 'pods'), false],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] }, req('get', 'apps', 'deployments'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, req('get', '', 'pods', 'log'), false],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, req('get', '', 'pods', 'log'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, req('get', '', 'pods'), false],
    [{ verbs: ['get'], apiGroups: [''], resources: ['*'] }, req('get', '', 'pods', 'log'), true],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, req('get', 'apps', 'deployments', 'scale'), true],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, req('get', 'apps', 'deployments'), false],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, req('get', 'apps', 'deployments', 'status'), false],
    // upstream has no "resource/*" wildcard: it names a subresource called "*" literally
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods/*'] }, req('get', '', 'pods', 'log'), false],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }, req('get', '', 'pods', '', 'a'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }, req('get', '', 'pods', '', 'b'), false],
    [{ verbs: ['create'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }, req('create', '', 'pods'), false],
    [{ verbs: ['list'], apiGroups: [''], resources: ['pods'], resourceNames: [] }, req('list', '', 'pods'), true],
    [{ verbs: ['get'], nonResourceURLs: ['*'] }, req('get', '', 'pods'), false],
  ];
  for (const [rule, a, want] of cases) assert.equal(ruleAllows(a, rule), want, `${JSON.stringify(rule)} vs ${a.verb} ${a.apiGroup}/${a.resource}/${a.subresource}/${a.name}`);
});

test('non-resource rules match exact paths, * and trailing-* prefixes', () => {
  const cases: [PolicyRule, Attributes, boolean][] = [
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, url('get', '/healthz'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }, url('get', '/healthz/etcd'), false],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz/*'] }, url('get', '/healthz/etcd'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/healthz/*'] }, url('get', '/healthz'), false],
    [{ verbs: ['get'], nonResourceURLs: ['/api*'] }, url('get', '/apis/apps'), true],
    [{ verbs: ['get'], nonResourceURLs: ['*'] }, url('get', '/anything'), true],
    [{ verbs: ['get'], nonResourceURLs: ['/version'] }, url('post', '/version'), false],
    [{ verbs: ['get'], apiGroups: ['*'], resources: ['*'] }, url('get', '/version'), false],
  ];
  for (const [rule, a, want] of cases) assert.equal(ruleAllows(a, rule), want, `${JSON.stringify(rule)} vs ${a.verb} ${a.path}`);
});

test('covers: owners cover servants verb by verb; what is missing is compacted as upstream prints it', () => {
  const owner: PolicyRule[] = [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }];
  assert.equal(covers(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]).covered, true);
  assert.equal(covers(owner, [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments/scale'] }]).covered, true);
  assert.equal(covers(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['x'] }]).covered, true);
  assert.equal(covers([{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['x'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]).covered, false);
  const r = covers(owner, [{ verbs: ['get', 'create', 'delete'], apiGroups: [''], resources: ['pods', 'secrets'] }]);
  assert.equal(r.covered, false);
  assert.deepEqual(compactRules(r.missing).map(compactString).sort(), ['{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}', '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "create" "delete"]}']);
  assert.equal(covers([{ verbs: ['get'], nonResourceURLs: ['/healthz/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/healthz/etcd'] }]).covered, true);
  assert.equal(compactString({ verbs: ['get'], nonResourceURLs: ['/x'] }), '{NonResourceURLs:["/x"], Verbs:["get"]}');
});

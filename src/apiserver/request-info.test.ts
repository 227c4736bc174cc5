import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestInfo } from './request-info.js';

const info = (method: string, path: string, q = '') => parseRequestInfo(method, path, new URLSearchParams(q));

describe('parseRequestInfo', () => {
  it('splits namespaced resource paths', () => {
    const i = info('GET', '/apis/apps/v1/namespaces/ns1/deployments/web/scale');
    assert.deepEqual(
      { g: i.group, v: i.version, ns: i.namespace, r: i.resource, n: i.name, s: i.subresource, verb: i.verb },
      { g: 'apps', v: 'v1', ns: 'ns1', r: 'deployments', n: 'web', s: 'scale', verb: 'get' },
    );
  });

  it('maps methods to verbs like upstream', () => {
    assert.equal(info('GET', '/api/v1/pods').verb, 'list');
    assert.equal(info('GET', '/api/v1/pods', 'watch=true').verb, 'watch');
    assert.equal(info('GET', '/api/v1/watch/namespaces/a/pods').verb, 'watch');
    assert.equal(info('POST', '/api/v1/namespaces/a/pods').verb, 'create');
    assert.equal(info('PUT', '/api/v1/namespaces/a/pods/p').verb, 'update');
    assert.equal(info('PATCH', '/api/v1/namespaces/a/pods/p').verb, 'patch');
    assert.equal(info('DELETE', '/api/v1/namespaces/a/pods/p').verb, 'delete');
    assert.equal(info('DELETE', '/api/v1/namespaces/a/pods').verb, 'deletecollection');
  });

  it('treats a namespace\'s status and finalize as subresources of the namespace', () => {
    const s = info('PUT', '/api/v1/namespaces/team/finalize');
    assert.deepEqual([s.resource, s.name, s.subresource], ['namespaces', 'team', 'finalize']);
    const g = info('GET', '/api/v1/namespaces/team');
    assert.deepEqual([g.resource, g.name, g.verb], ['namespaces', 'team', 'get']);
  });

  it('leaves discovery paths as non-resource requests', () => {
    assert.equal(info('GET', '/apis/apps').isResourceRequest, false);
    assert.equal(info('GET', '/apis/apps/v1').isResourceRequest, false);
    assert.equal(info('GET', '/api').isResourceRequest, false);
    assert.equal(info('GET', '/version').isResourceRequest, false);
  });
});

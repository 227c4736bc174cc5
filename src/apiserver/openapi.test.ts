import { UPSTREAM_OPENAPI_V3, upstreamOpenApiSkip } from '../../test/harness/upstream-openapi.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinResources } from '../api/catalog.js';
import { loadDefinitions, refName } from '../api/schema.js';
import type { ResourceEntry } from '../api/types.js';
import { buildOpenApiV3 } from './openapi.js';

const defs = loadDefinitions();
const started = performance.now();
const built = buildOpenApiV3(builtinResources, defs);
const buildMs = performance.now() - started;

function doc(key: string, from = built): any {
  const d = from.documents.get(key);
  assert.ok(d, `no document ${key}`);
  return JSON.parse(d.body.toString('utf8'));
}

const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

describe('buildOpenApiV3', () => {
  test('is fast enough to build on a request', () => {
    // Measured here once, cold: tens of ms for the whole built-in catalog.
    assert.ok(buildMs < 500, `build took ${buildMs} ms`);
  });

  test('root lists every group-version and discovery document with the hash of its body', () => {
    const gvs = new Set(builtinResources.map((e) => (e.group ? `apis/${e.group}/${e.version}` : `api/${e.version}`)));
    const groups = new Set(builtinResources.filter((e) => e.group).map((e) => `apis/${e.group}`));
    const expected = [...gvs, ...groups, 'api', 'apis', 'version'].sort();
    assert.deepEqual(Object.keys(built.root.paths), expected);
    for (const [key, entry] of Object.entries(built.root.paths)) {
      const d = built.documents.get(key)!;
      const hash = createHash('sha512').update(d.body).digest('hex').toUpperCase();
      assert.equal(d.hash, hash);
      assert.equal(entry.serverRelativeURL, `/openapi/v3/${key}?hash=${hash}`);
    }
  });

  test('documents are self-contained: every $ref names a schema in the same document', () => {
    for (const key of built.documents.keys()) {
      const d = doc(key);
      assert.equal(d.openapi, '3.0.0');
      assert.ok(d.info.title);
      JSON.stringify(d, (k, v) => {
        if (k === '$ref' && typeof v === 'string') assert.ok(d.components.schemas[refName({ $ref: v })!], `${key}: ${v}`);
        return v;
      });
    }
  });

  test('core/v1 has pods like upstream: collection, item, status, all-namespaces list and watches', () => {
    const d = doc('api/v1');
    const p = d.paths;
    for (const path of [
      '/api/v1/',
      '/api/v1/namespaces/{namespace}/pods',
      '/api/v1/namespaces/{namespace}/pods/{name}',
      '/api/v1/namespaces/{namespace}/pods/{name}/status',
      '/api/v1/pods',
      '/api/v1/watch/namespaces/{namespace}/pods',
      '/api/v1/watch/namespaces/{namespace}/pods/{name}',
      '/api/v1/watch/pods',
      '/api/v1/nodes/{name}',
      '/api/v1/namespaces/{name}/status',
    ]) {
      assert.ok(p[path], `missing ${path}`);
    }
    const gvk = { group: '', kind: 'Pod', version: 'v1' };
    const coll = p['/api/v1/namespaces/{namespace}/pods'];
    assert.equal(coll.get.operationId, 'listCoreV1NamespacedPod');
    assert.equal(coll.get['x-kubernetes-action'], 'list');
    assert.equal(refName(coll.get.responses['200'].content['application/json'].schema), 'io.k8s.api.core.v1.PodList');
    assert.equal(coll.post.operationId, 'createCoreV1NamespacedPod');
    assert.equal(coll.post['x-kubernetes-action'], 'post');
    assert.equal(coll.delete['x-kubernetes-action'], 'deletecollection');
    assert.deepEqual(coll.post['x-kubernetes-group-version-kind'], gvk);
    assert.deepEqual(coll.parameters.map((x: any) => x.name), ['namespace', 'pretty']);
    assert.deepEqual(coll.post.parameters.map((x: any) => x.name), ['dryRun', 'fieldManager', 'fieldValidation']);

    const item = p['/api/v1/namespaces/{namespace}/pods/{name}'];
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'parameters', 'patch', 'put']);
    assert.equal(item.get.operationId, 'readCoreV1NamespacedPod');
    assert.equal(item.put.operationId, 'replaceCoreV1NamespacedPod');
    assert.equal(item.patch.operationId, 'patchCoreV1NamespacedPod');
    assert.equal(item.delete.operationId, 'deleteCoreV1NamespacedPod');
    for (const op of ['get', 'put', 'patch', 'delete']) assert.deepEqual(item[op]['x-kubernetes-group-version-kind'], gvk);
    assert.deepEqual(item.patch.parameters.map((x: any) => x.name), ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
    assert.deepEqual(Object.keys(item.patch.requestBody.content), PATCH_TYPES);
    assert.equal(refName(item.patch.requestBody.content['application/strategic-merge-patch+json'].schema), 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch');
    assert.equal(refName(item.delete.requestBody.content['*/*'].schema), 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions');
    assert.deepEqual(item.parameters.map((x: any) => x.name), ['name', 'namespace', 'pretty']);

    assert.equal(p['/api/v1/namespaces/{namespace}/pods/{name}/status'].patch.operationId, 'patchCoreV1NamespacedPodStatus');
    assert.equal(p['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
    assert.equal(p['/api/v1/watch/pods'].get['x-kubernetes-action'], 'watchlist');
    assert.equal(refName(p['/api/v1/watch/pods'].get.responses['200'].content['application/json;stream=watch'].schema), 'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent');
    assert.equal(p['/api/v1/nodes/{name}'].get.operationId, 'readCoreV1Node');
    assert.equal(p['/api/v1/'].get.operationId, 'getCoreV1APIResources');

    for (const name of ['Pod', 'PodList', 'PodSpec', 'Container']) assert.ok(d.components.schemas[`io.k8s.api.core.v1.${name}`], name);
    for (const name of ['DeleteOptions', 'Status', 'WatchEvent', 'APIResourceList', 'ObjectMeta', 'Patch']) {
      assert.ok(d.components.schemas[`io.k8s.apimachinery.pkg.apis.meta.v1.${name}`], name);
    }
    assert.ok(d.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString']);
  });

  test('apps/v1 has the scale subresource with autoscaling/v1 Scale', () => {
    const d = doc('apis/apps/v1');
    const scale = d.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
    assert.equal(scale.get.operationId, 'readAppsV1NamespacedDeploymentScale');
    assert.deepEqual(scale.put['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
    assert.equal(refName(scale.put.requestBody.content['*/*'].schema), 'io.k8s.api.autoscaling.v1.Scale');
    assert.ok(d.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
    assert.equal(d.paths['/apis/apps/v1/deployments'].get.operationId, 'listAppsV1DeploymentForAllNamespaces');
  });

  test('operation names follow upstream for dotted groups', () => {
    const d = doc('apis/rbac.authorization.k8s.io/v1');
    const op = d.paths['/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}'].get;
    assert.equal(op.operationId, 'readRbacAuthorizationV1ClusterRole');
    assert.deepEqual(op.tags, ['rbacAuthorization_v1']);
    assert.equal(doc('apis/rbac.authorization.k8s.io').paths['/apis/rbac.authorization.k8s.io/'].get.operationId, 'getRbacAuthorizationAPIGroup');
  });

  test('rebuilds with run-time entries; kinds without definitions get a placeholder and no strategic merge', () => {
    const crd: ResourceEntry = {
      group: 'stable.example.com',
      version: 'v1',
      kind: 'CronTab',
      listKind: 'CronTabList',
      plural: 'crontabs',
      singular: 'crontab',
      namespaced: true,
      shortNames: ['ct'],
      categories: [],
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      definition: 'com.example.stable.v1.CronTab',
      subresources: { status: true },
      hasSpec: true,
    };
    const again = buildOpenApiV3([...builtinResources, crd], defs);
    assert.ok(again.root.paths['apis/stable.example.com/v1']);
    assert.ok(again.root.paths['apis/stable.example.com']);
    assert.equal(again.documents.get('api/v1')!.hash, built.documents.get('api/v1')!.hash);
    const d = doc('apis/stable.example.com/v1', again);
    const item = d.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'];
    assert.equal(item.get.operationId, 'readStableExampleComV1NamespacedCronTab');
    assert.deepEqual(Object.keys(item.patch.requestBody.content), PATCH_TYPES.filter((t) => !t.includes('strategic')));
    assert.deepEqual(d.components.schemas['com.example.stable.v1.CronTab']['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', kind: 'CronTab', version: 'v1' }]);
    assert.ok(d.components.schemas['com.example.stable.v1.CronTabList']);
  });
});

// Upstream 1.26's documents, read only by this test (the product never depends on /work/shared).
const UPSTREAM = UPSTREAM_OPENAPI_V3;

describe('against upstream 1.26 OpenAPI', { skip: upstreamOpenApiSkip() }, () => {
  const operations = (d: any) =>
    new Map<string, any>(
      Object.entries<any>(d.paths).flatMap(([path, item]) =>
        Object.entries<any>(item)
          .filter(([m]) => m !== 'parameters')
          .map(([m, op]) => [`${m} ${path}`, { op, pathParams: (item.parameters ?? []).map((x: any) => x.name) }] as [string, any]),
      ),
    );
  const upstreamDoc = (key: string) => JSON.parse(readFileSync(`${UPSTREAM}/${key.replaceAll('/', '__')}_openapi.json`, 'utf8'));

  test('every operation we serve is upstream’s, with its operationId, action, GVK and parameters', () => {
    // Catalog choices that differ from upstream, not OpenAPI bugs.
    const allowed = new Set(['delete /api/v1/namespaces']);
    for (const key of [...built.documents.keys()]) {
      const theirs = operations(upstreamDoc(key));
      for (const [k, { op, pathParams }] of operations(doc(key))) {
        if (allowed.has(k)) continue;
        // ValidatingAdmissionPolicy reached v1 in 1.30; 1.26 only had v1alpha1.
        if (k.includes('/validatingadmissionpolic')) continue;
        // SelfSubjectReview reached v1 in 1.28; 1.26 only had v1alpha1.
        if (k.includes('/authentication.k8s.io/v1/selfsubjectreviews')) continue;
        const t = theirs.get(k);
        assert.ok(t, `${key}: upstream has no ${k}`);
        assert.equal(op.operationId, t.op.operationId, k);
        assert.equal(op['x-kubernetes-action'], t.op['x-kubernetes-action'], k);
        assert.deepEqual(op['x-kubernetes-group-version-kind'], t.op['x-kubernetes-group-version-kind'], k);
        assert.deepEqual((op.parameters ?? []).map((x: any) => x.name), (t.op.parameters ?? []).map((x: any) => x.name), k);
        assert.deepEqual(pathParams, t.pathParams, k);
        assert.deepEqual(Object.keys(op.requestBody?.content ?? {}), Object.keys(t.op.requestBody?.content ?? {}), k);
      }
    }
  });

  test('apps, batch and rbac serve exactly upstream’s operations', () => {
    for (const key of ['apis/apps/v1', 'apis/batch/v1', 'apis/rbac.authorization.k8s.io/v1']) {
      assert.deepEqual([...operations(doc(key)).keys()].sort(), [...operations(upstreamDoc(key)).keys()].sort(), key);
    }
  });
});

/**
 * Bad input against a real `skiff up`: every malformed request gets the HTTP code, Status reason
 * (and where upstream words it fixedly, the message) kube-apiserver gives, as a `Status` body, and
 * a rejected request changes nothing.
 *
 * Where upstream answers come from (kubernetes/kubernetes, staging/src/k8s.io/):
 *  - apimachinery/pkg/api/errors/errors.go: NewNotFound, NewAlreadyExists, NewBadRequest,
 *    NewInvalid, NewRequestEntityTooLargeError ("Request entity too large: limit is N"),
 *    NewGenericServerResponse (405 "the server does not allow this method on the requested
 *    resource", 404 "the server could not find the requested resource", 422 "the server rejected
 *    our request due to an error in our request", no causes);
 *  - apiserver/pkg/server/handler.go: go-restful's 404/405 become NewGenericServerResponse Statuses;
 *  - apiserver/pkg/endpoints/installer.go: across all namespaces only LIST and WATCHLIST are routed
 *    (so POST/DELETE on /api/v1/configmaps are 405);
 *  - apiserver/pkg/endpoints/handlers/rest.go limitedReadBody (413), create.go/update.go
 *    (transformDecodeError → 400; checkName → 400; ValidateCreateOptions → 422 on CreateOptions),
 *    negotiation (415 UnsupportedMediaType, 406 NotAcceptable, negotiated before the body is read),
 *    patch.go (415 before reading the body; "error decoding patch" 400; JSON patch that does not
 *    apply → 422; a patched object that does not decode → 422 Invalid on field "patch";
 *    strategic-merge errors that are plain Go errors → 500 with no reason);
 *  - apiserver/pkg/registry/rest/create.go EnsureObjectNamespaceMatchesRequestNamespace (400);
 *  - apimachinery's Go JSON decoder stops at nesting depth 10000 ("exceeded max depth") → 400.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { API_ONLY_ARGS, e2eBackends, startSkiff, type SkiffProcess } from '../harness/skiff.js';
import { assertStatus, KubeHttp } from './http-client.js';

const NS = 'bad-input';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const DEPLOY = `/apis/apps/v1/namespaces/${NS}/deployments`;
const MAX_BODY = 3 * 1024 * 1024;

const JSON_CT = { 'Content-Type': 'application/json' };
const NOT_FOUND_PATH = 'the server could not find the requested resource';
const METHOD_NOT_ALLOWED = 'the server does not allow this method on the requested resource';
const GENERIC_422 = 'the server rejected our request due to an error in our request';

function deployment(name: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
}

for (const backend of e2eBackends()) {
  describe(`bad input is answered like kube-apiserver (${backend})`, () => {
    let skiff: SkiffProcess;
    let k: KubeHttp;
    let existing: any;

    /**
     * Every test starts with configmap "existing" present (recreated if an earlier test lost it) and
     * remembers its resourceVersion, so a test can check that its rejected requests wrote nothing.
     */
    beforeEach(async () => {
      const r = await k.get(`${CM}/existing`);
      existing = r.status === 200 ? r.json : await k.ok('POST', CM, { body: { metadata: { name: 'existing', labels: { keep: 'me' } }, data: { a: '1' } } });
    });

    /** Fails unless configmap "existing" is exactly as the test found it (nothing written by a rejected request). */
    const assertUnchanged = async (what: string) => {
      const now = await k.ok('GET', `${CM}/existing`);
      assert.equal(now.metadata.resourceVersion, existing.metadata.resourceVersion, `${what} changed configmap "existing": ${JSON.stringify(now)}`);
    };
    const assertAbsent = async (path: string, what: string) => {
      const r = await k.get(path);
      assert.equal(r.status, 404, `${what} must not have written ${path}: ${r.text.slice(0, 300)}`);
    };

    before(async () => {
      skiff = await startSkiff({ backend, extraArgs: API_ONLY_ARGS });
      k = await KubeHttp.fromKubeconfig(skiff.kubeconfig);
      await k.ok('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
      await k.ok('POST', DEPLOY, { body: deployment('dep') });
    });

    after(async () => {
      k?.close();
      await skiff?.stop();
    });

    describe('malformed bodies → 400 BadRequest', () => {
      const cases: [string, string, Record<string, string>][] = [
        ['truncated JSON', '{"metadata": {"name": "trunc"', JSON_CT],
        ['not JSON at all', 'this is not json', JSON_CT],
        ['a JSON array', '[]', JSON_CT],
        ['a JSON string', '"configmap"', JSON_CT],
        ['an empty body', '', JSON_CT],
        ['metadata that is a string', '{"metadata": "nope"}', JSON_CT],
        ['a field of the wrong type', '{"metadata": {"name": "typed"}, "data": {"a": 1}}', JSON_CT],
        ['malformed YAML', 'metadata: [unclosed\n  name: x', { 'Content-Type': 'application/yaml' }],
        ['YAML that is a scalar', 'just a string', { 'Content-Type': 'application/yaml' }],
      ];
      for (const [what, body, headers] of cases) {
        it(what, async () => {
          const r = await k.request('POST', CM, { body, headers });
          assertStatus(r, 400, 'BadRequest', what);
        });
      }

      it('an unknown field with fieldValidation=Strict', async () => {
        const r = await k.post(`${CM}?fieldValidation=Strict`, { metadata: { name: 'strict' }, bogus: 1 });
        const s = assertStatus(r, 400, 'BadRequest');
        assert.match(s.message, /unknown field "bogus"/);
        await assertAbsent(`${CM}/strict`, 'a strict-decoding failure');
      });

      it('JSON nested deeper than the Go decoder allows (500 levels)', async () => {
        const depth = 20_000;
        const body = `{"metadata":{"name":"deep"},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
        const r = await k.request('POST', CM, { body, headers: JSON_CT });
        assertStatus(r, 400, 'BadRequest', 'upstream: "exceeded max depth"');
        await assertAbsent(`${CM}/deep`, 'a body too deeply nested');
      });
    });

    describe('unknown resources, kinds and versions', () => {
      const notFound: [string, string][] = [
        ['an unknown core resource', `/api/v1/namespaces/${NS}/widgets`],
        ['an unknown resource in a known group', '/apis/apps/v1/widgets'],
        ['an unknown group', '/apis/widgets.example.com/v1/widgets'],
        ['an unknown version of a known group', `/apis/apps/v9/namespaces/${NS}/deployments`],
        ['an unknown core version', '/api/v2/namespaces'],
        ['an unknown subresource', `${CM}/existing/frobnicate`],
        ['status of a kind without status', `${CM}/existing/status`],
        ['a path outside the API', '/nonsense/path'],
      ];
      for (const [what, path] of notFound) {
        it(`GET ${what} → 404 NotFound`, async () => {
          const s = assertStatus(await k.get(path), 404, 'NotFound', path);
          assert.equal(s.message, NOT_FOUND_PATH);
        });
      }

      it('GET namespaces inside a namespace (a cluster-scoped resource has no such route) → 404 NotFound', async () => {
        const s = assertStatus(await k.get(`/api/v1/namespaces/${NS}/namespaces`), 404, 'NotFound');
        assert.equal(s.message, NOT_FOUND_PATH);
      });

      it('GET nodes inside a namespace → 404 NotFound', async () => {
        assertStatus(await k.get(`/api/v1/namespaces/${NS}/nodes`), 404, 'NotFound');
      });

      it('POST to an unknown resource → 404 NotFound', async () => {
        const s = assertStatus(await k.post(`/api/v1/namespaces/${NS}/widgets`, { metadata: { name: 'w' } }), 404, 'NotFound');
        assert.equal(s.message, NOT_FOUND_PATH);
      });

      const wrongType: [string, object][] = [
        ['a body of another kind (Secret to configmaps)', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kind-secret' } }],
        ['a body of an unknown kind', { apiVersion: 'v1', kind: 'Frobnicator', metadata: { name: 'kind-frob' } }],
        ['a body with apiVersion apps/v1 for a core kind', { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'av-apps' } }],
        ['a body with an unknown apiVersion', { apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 'av-v2' } }],
      ];
      for (const [what, body] of wrongType) {
        it(`${what} → 400 BadRequest, nothing created`, async () => {
          assertStatus(await k.post(CM, body), 400, 'BadRequest', what);
          await assertAbsent(`${CM}/${(body as any).metadata.name}`, what);
        });
      }

      it('a Deployment body with apiVersion extensions/v1beta1 → 400 BadRequest', async () => {
        const body = { ...deployment('old-api'), apiVersion: 'extensions/v1beta1' };
        assertStatus(await k.post(DEPLOY, body), 400, 'BadRequest');
        await assertAbsent(`${DEPLOY}/old-api`, 'a wrong apiVersion');
      });
    });

    describe('namespace and name in the body against the path → 400 BadRequest', () => {
      it('create with another namespace in the body', async () => {
        const s = assertStatus(await k.post(CM, { metadata: { name: 'ns-mismatch', namespace: 'default' } }), 400, 'BadRequest');
        assert.equal(s.message, 'the namespace of the provided object does not match the namespace sent on the request');
        await assertAbsent(`${CM}/ns-mismatch`, 'a namespace mismatch');
        await assertAbsent('/api/v1/namespaces/default/configmaps/ns-mismatch', 'a namespace mismatch');
      });

      it('update with another namespace in the body', async () => {
        const body = { ...existing, metadata: { ...existing.metadata, namespace: 'default' } };
        const s = assertStatus(await k.put(`${CM}/existing`, body), 400, 'BadRequest');
        assert.equal(s.message, 'the namespace of the provided object does not match the namespace sent on the request');
        await assertUnchanged('a namespace mismatch on update');
      });

      it('update with another name in the body', async () => {
        const body = { ...existing, metadata: { ...existing.metadata, name: 'other' } };
        const s = assertStatus(await k.put(`${CM}/existing`, body), 400, 'BadRequest');
        assert.equal(s.message, 'the name of the object (other) does not match the name on the URL (existing)');
        await assertUnchanged('a name mismatch on update');
      });

      it('a patch that renames the object', async () => {
        const r = await k.patch(`${CM}/existing`, { metadata: { name: 'renamed' } }, 'application/merge-patch+json');
        const s = assertStatus(r, 400, 'BadRequest');
        assert.equal(s.message, 'the name of the object (renamed) does not match the name on the URL (existing)');
        await assertUnchanged('a renaming patch');
      });
    });

    describe('oversized bodies → 413 RequestEntityTooLarge', () => {
      const big = () => Buffer.from(JSON.stringify({ metadata: { name: 'big' }, data: { blob: 'x'.repeat(MAX_BODY) } }));
      const cases: [string, string, string, boolean][] = [
        ['POST with Content-Length', 'POST', CM, false],
        ['POST chunked (no Content-Length)', 'POST', CM, true],
        ['PUT', 'PUT', `${CM}/existing`, false],
        ['PATCH', 'PATCH', `${CM}/existing`, false],
      ];
      for (const [what, method, path, chunked] of cases) {
        it(what, async () => {
          const body = big();
          assert.ok(body.length > MAX_BODY);
          const headers = { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
          const s = assertStatus(await k.request(method, path, { body, headers, chunked }), 413, 'RequestEntityTooLarge', what);
          assert.equal(s.message, `Request entity too large: limit is ${MAX_BODY}`);
        });
      }

      it('leaves nothing written', async () => {
        await assertAbsent(`${CM}/big`, 'an oversized create');
        await assertUnchanged('an oversized update');
      });
    });

    describe('unsupported Content-Type → 415 UnsupportedMediaType', () => {
      const cases: [string, string, string, string, string][] = [
        ['POST text/plain', 'POST', CM, 'text/plain', '{"metadata":{"name":"ct-text"}}'],
        ['POST application/xml', 'POST', CM, 'application/xml', '<configmap/>'],
        ['PUT text/plain', 'PUT', `${CM}/existing`, 'text/plain', JSON.stringify({ metadata: { name: 'existing' }, data: { a: 'x' } })],
        ['PATCH application/json (not a patch type)', 'PATCH', `${CM}/existing`, 'application/json', '{"data":{"a":"x"}}'],
        ['PATCH text/plain with a valid patch', 'PATCH', `${CM}/existing`, 'text/plain', '{"data":{"a":"x"}}'],
        // Upstream checks the patch type before it reads the body, so the body's content cannot matter.
        ['PATCH text/plain with a body that is not JSON', 'PATCH', `${CM}/existing`, 'text/plain', 'not json'],
        ['PATCH with no Content-Type', 'PATCH', `${CM}/existing`, '', '{"data":{"a":"x"}}'],
      ];
      for (const [what, method, path, ct, body] of cases) {
        it(what, async () => {
          // An empty Content-Type is sent as an empty header (the client adds application/json otherwise).
          const r = await k.request(method, path, { body: Buffer.from(body), headers: { 'Content-Type': ct } });
          assertStatus(r, 415, 'UnsupportedMediaType', what);
        });
      }

      it('leaves nothing written', async () => {
        await assertAbsent(`${CM}/ct-text`, 'an unsupported content type');
        await assertUnchanged('an unsupported content type');
      });
    });

    describe('protobuf-only Accept → 406 NotAcceptable (skiff serves JSON, YAML and Tables only)', () => {
      const PB = { Accept: 'application/vnd.kubernetes.protobuf' };
      it('GET an object', async () => {
        const s = assertStatus(await k.get(`${CM}/existing`, PB), 406, 'NotAcceptable');
        assert.match(s.message, /^only the following media types are accepted: application\/json/);
      });
      it('LIST', async () => {
        assertStatus(await k.get(CM, PB), 406, 'NotAcceptable');
      });
      it('WATCH', async () => {
        assertStatus(await k.get(`${CM}?watch=true`, { Accept: 'application/vnd.kubernetes.protobuf;stream=watch' }), 406, 'NotAcceptable');
      });
      it('POST is refused before anything is written', async () => {
        const r = await k.request('POST', CM, { body: { metadata: { name: 'pb-create' } }, headers: { ...JSON_CT, ...PB } });
        assertStatus(r, 406, 'NotAcceptable');
        await assertAbsent(`${CM}/pb-create`, 'a create answered 406');
      });
      it('PATCH is refused before anything is written', async () => {
        const r = await k.request('PATCH', `${CM}/existing`, { body: { data: { a: 'pb' } }, headers: { 'Content-Type': 'application/merge-patch+json', ...PB } });
        assertStatus(r, 406, 'NotAcceptable');
        await assertUnchanged('a patch answered 406');
      });
    });

    describe('invalid selectors and list parameters → 400 BadRequest', () => {
      const cases: [string, string][] = [
        ['an unclosed set in a label selector', `${CM}?labelSelector=${encodeURIComponent('a in (x')}`],
        ['a label selector with a bad key', `${CM}?labelSelector=${encodeURIComponent('-bad-=x')}`],
        ['a label selector with a set operator and no set', `${CM}?labelSelector=${encodeURIComponent('a notin')}`],
        ['a label selector on a watch', `${CM}?watch=true&labelSelector=${encodeURIComponent('a in (x')}`],
        ['a field selector without an operator', `${CM}?fieldSelector=nonsense`],
        ['a field selector on an unsupported field', `${CM}?fieldSelector=${encodeURIComponent('spec.foo=1')}`],
        ['a field selector on a watch', `${CM}?watch=true&fieldSelector=${encodeURIComponent('status.phase=Running')}`],
        ['a limit that is not a number', `${CM}?limit=ten`],
        ['a continue token that is not one', `${CM}?limit=1&continue=garbage`],
        // ListOptions.Limit is an int64: a value that does not fit fails to decode.
        ['a limit beyond int64', `${CM}?limit=123456789012345678901234567890`],
        ['a limit of 2^64', `/apis/apps/v1/controllerrevisions?limit=18446744073709551616`],
      ];
      for (const [what, path] of cases) {
        it(what, async () => {
          assertStatus(await k.get(path), 400, 'BadRequest', `${what}: GET ${path}`);
        });
      }
    });

    describe('list parameters upstream accepts', () => {
      it('a negative limit is no limit (upstream validates no bound; storage pages only when limit > 0)', async () => {
        const r = await k.get(`${CM}?limit=-1`);
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.ok(r.json.items.some((i: any) => i.metadata.name === 'existing'));
        assert.equal(r.json.metadata.continue, undefined);
      });
    });

    describe('invalid patches', () => {
      const MERGE = 'application/merge-patch+json';
      const JSONP = 'application/json-patch+json';
      const SMP = 'application/strategic-merge-patch+json';
      const bad400: [string, string, string][] = [
        ['merge patch that is not JSON', MERGE, '{"data": '],
        ['merge patch that is a list', MERGE, '[1, 2]'],
        ['JSON patch that is not JSON', JSONP, '[{"op": '],
        ['JSON patch that is an object, not a list', JSONP, '{"op": "add", "path": "/data/x", "value": "1"}'],
        ['JSON patch with a non-string path', JSONP, '[{"op": "add", "path": 7, "value": "1"}]'],
        ['strategic merge patch that is not JSON', SMP, '{{'],
        ['strategic merge patch that is a list', SMP, '["a"]'],
      ];
      for (const [what, ct, body] of bad400) {
        it(`${what} → 400 BadRequest`, async () => {
          assertStatus(await k.request('PATCH', `${CM}/existing`, { body: Buffer.from(body), headers: { 'Content-Type': ct } }), 400, 'BadRequest', what);
          await assertUnchanged(what);
        });
      }

      const unapplicable: [string, unknown][] = [
        ['a failing test operation', [{ op: 'test', path: '/data/a', value: 'not-the-value' }]],
        ['removing a path that does not exist', [{ op: 'remove', path: '/data/missing' }]],
        ['an unknown operation', [{ op: 'frobnicate', path: '/data/a' }]],
      ];
      for (const [what, body] of unapplicable) {
        it(`JSON patch with ${what} → 422 Invalid with upstream's generic message`, async () => {
          const s = assertStatus(await k.patch(`${CM}/existing`, body, JSONP), 422, 'Invalid', what);
          assert.equal(s.message, GENERIC_422);
          await assertUnchanged(what);
        });
      }

      // A patch that applies, but whose result does not decode into the kind: NewInvalid on "patch".
      const undecodable: [string, string, unknown][] = [
        ['JSON patch making metadata a string', JSONP, [{ op: 'replace', path: '/metadata', value: 'oops' }]],
        ['merge patch putting a number in a string map', MERGE, { data: { a: 1 } }],
        ['strategic merge patch putting a list where a map goes', SMP, { data: ['a'] }],
      ];
      for (const [what, ct, body] of undecodable) {
        it(`${what} → 422 Invalid on field "patch"`, async () => {
          const s = assertStatus(await k.patch(`${CM}/existing`, body, ct), 422, 'Invalid', what);
          assert.equal(s.details?.causes?.[0]?.field, 'patch', `causes: ${JSON.stringify(s.details?.causes)}`);
          assert.equal(s.details?.causes?.[0]?.reason, 'FieldValueInvalid');
          await assertUnchanged(what);
        });
      }

      it('a strategic merge patch whose list item lacks the merge key → upstream\'s 500 with no reason', async () => {
        const body = { spec: { template: { spec: { containers: [{ image: 'x' }] } } } };
        const s = assertStatus(await k.patch(`${DEPLOY}/dep`, body, SMP), 500, undefined);
        assert.equal(s.message, 'map: map[image:x] does not contain declared merge key: name');
      });

      it('a patch to a missing object → 404 NotFound', async () => {
        const s = assertStatus(await k.patch(`${CM}/missing`, { data: { a: '1' } }, MERGE), 404, 'NotFound');
        assert.equal(s.message, 'configmaps "missing" not found');
      });

      it('an unsupported dryRun value on PATCH → 422 Invalid on PatchOptions', async () => {
        const r = await k.request('PATCH', `${CM}/existing?dryRun=Sometimes`, { body: { data: { a: 'x' } }, headers: { 'Content-Type': MERGE } });
        const s = assertStatus(r, 422, 'Invalid');
        assert.equal(s.details?.kind, 'PatchOptions');
        assert.equal(s.details?.group, 'meta.k8s.io');
        assert.equal(s.details?.causes?.[0]?.field, 'dryRun');
        assert.equal(s.details?.causes?.[0]?.reason, 'FieldValueNotSupported');
        await assertUnchanged('an invalid dryRun');
      });
    });

    describe('invalid objects → 422 Invalid with field causes', () => {
      const cases: [string, string, object, string, string][] = [
        ['a name that is not a DNS subdomain', CM, { metadata: { name: 'Bad_Name' } }, 'metadata.name', 'FieldValueInvalid'],
        ['no name and no generateName', CM, { metadata: {} }, 'metadata.name', 'FieldValueRequired'],
        ['a configmap key with a space', CM, { metadata: { name: 'bad-key' }, data: { 'bad key': 'v' } }, 'data[bad key]', 'FieldValueInvalid'],
        ['a label value that is too long', CM, { metadata: { name: 'bad-label', labels: { a: 'x'.repeat(64) } } }, 'metadata.labels', 'FieldValueInvalid'],
        [
          'a deployment without selector or containers',
          DEPLOY,
          { metadata: { name: 'bad-dep' }, spec: { template: { metadata: { labels: { a: 'b' } }, spec: {} } } },
          'spec.selector',
          'FieldValueRequired',
        ],
      ];
      for (const [what, path, body, field, reason] of cases) {
        it(what, async () => {
          const s = assertStatus(await k.post(path, body), 422, 'Invalid', what);
          const causes: any[] = s.details?.causes ?? [];
          assert.ok(
            causes.some((c) => c.field === field && c.reason === reason),
            `expected a cause {field: ${field}, reason: ${reason}} in ${JSON.stringify(causes)}`,
          );
          const name = (body as any).metadata.name;
          if (name) assert.equal(s.details?.name, name);
          assert.match(s.message, / is invalid: /);
        });
      }

      it('an update that changes an immutable field (selector) → 422', async () => {
        const cur = await k.ok('GET', `${DEPLOY}/dep`);
        cur.spec.selector = { matchLabels: { app: 'other' } };
        cur.spec.template.metadata.labels = { app: 'other' };
        const s = assertStatus(await k.put(`${DEPLOY}/dep`, cur), 422, 'Invalid');
        assert.ok(
          s.details.causes.some((c: any) => c.field === 'spec.selector'),
          JSON.stringify(s.details.causes),
        );
      });

      it('an unsupported dryRun value on POST → 422 Invalid on CreateOptions', async () => {
        const s = assertStatus(await k.post(`${CM}?dryRun=Maybe`, { metadata: { name: 'dry-bad' } }), 422, 'Invalid');
        assert.equal(s.details?.kind, 'CreateOptions');
        assert.equal(s.details?.group, 'meta.k8s.io');
        assert.equal(s.details?.causes?.[0]?.field, 'dryRun');
        await assertAbsent(`${CM}/dry-bad`, 'an invalid dryRun');
      });

      it('an unsupported propagationPolicy on DELETE → 422 Invalid on DeleteOptions', async () => {
        const r = await k.delete(`${CM}/existing`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' });
        const s = assertStatus(r, 422, 'Invalid');
        assert.equal(s.details?.kind, 'DeleteOptions');
        assert.equal(s.details?.group, 'meta.k8s.io');
        assert.equal(s.details?.causes?.[0]?.field, 'propagationPolicy');
        await assertUnchanged('an invalid propagationPolicy');
      });
    });

    describe('verbs a path does not serve → 405 MethodNotAllowed', () => {
      const cases: [string, string, string, unknown][] = [
        ['PUT on a collection', 'PUT', CM, { metadata: { name: 'x' } }],
        ['PATCH on a collection', 'PATCH', CM, { data: {} }],
        ['POST on a named object', 'POST', `${CM}/existing`, { metadata: { name: 'existing' } }],
        ['DELETE on a status subresource', 'DELETE', `${DEPLOY}/dep/status`, undefined],
        ['POST to a scale subresource', 'POST', `${DEPLOY}/dep/scale`, { spec: { replicas: 2 } }],
        ['POST to a namespaced resource across all namespaces', 'POST', '/api/v1/configmaps', { metadata: { name: 'x', namespace: NS } }],
        ['POST to /version', 'POST', '/version', {}],
      ];
      for (const [what, method, path, body] of cases) {
        it(what, async () => {
          const headers = method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : undefined;
          const r = await k.request(method, path, body === undefined ? {} : { body: body as object, headers });
          const s = assertStatus(r, 405, 'MethodNotAllowed', `${method} ${path}`);
          assert.equal(s.message, METHOD_NOT_ALLOWED);
        });
      }

      it('POST, PUT, PATCH, DELETE under the deprecated /watch/ prefix (GET only) → 405', async () => {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          // timeoutSeconds bounds the stream should a server take the request for a watch.
          const path = `/api/v1/watch/namespaces/${NS}/configmaps${method === 'POST' ? '' : '/existing'}?timeoutSeconds=1`;
          const headers = { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
          const r = await k.request(method, path, { body: { metadata: { name: 'existing' } }, headers });
          assertStatus(r, 405, 'MethodNotAllowed', `${method} ${path}`);
        }
        await assertUnchanged('writes under /watch/');
      });

      it('DELETE across all namespaces (there is no such route) → 405, and deletes nothing', async () => {
        const r = await k.delete('/api/v1/configmaps');
        const s = assertStatus(r, 405, 'MethodNotAllowed', 'DELETE /api/v1/configmaps');
        assert.equal(s.message, METHOD_NOT_ALLOWED);
        await assertUnchanged('DELETE /api/v1/configmaps');
      });
    });

    describe('missing and existing objects', () => {
      it('GET a missing configmap → 404 NotFound with details', async () => {
        const s = assertStatus(await k.get(`${CM}/nope`), 404, 'NotFound');
        assert.equal(s.message, 'configmaps "nope" not found');
        assert.deepEqual(s.details, { name: 'nope', kind: 'configmaps' });
      });

      it('GET a missing deployment names the group', async () => {
        const s = assertStatus(await k.get(`${DEPLOY}/nope`), 404, 'NotFound');
        assert.equal(s.message, 'deployments.apps "nope" not found');
        assert.deepEqual(s.details, { name: 'nope', group: 'apps', kind: 'deployments' });
      });

      it('PUT, DELETE on a missing configmap → 404 NotFound', async () => {
        assertStatus(await k.put(`${CM}/nope`, { metadata: { name: 'nope' } }), 404, 'NotFound');
        assertStatus(await k.delete(`${CM}/nope`), 404, 'NotFound');
      });

      it('create in a namespace that does not exist → 404 NotFound for the namespace', async () => {
        const s = assertStatus(await k.post('/api/v1/namespaces/ghost/configmaps', { metadata: { name: 'x' } }), 404, 'NotFound');
        assert.equal(s.message, 'namespaces "ghost" not found');
      });

      it('create an object that exists → 409 AlreadyExists', async () => {
        const s = assertStatus(await k.post(CM, { metadata: { name: 'existing' }, data: { a: 'other' } }), 409, 'AlreadyExists');
        assert.equal(s.message, 'configmaps "existing" already exists');
        assert.deepEqual(s.details, { name: 'existing', kind: 'configmaps' });
        await assertUnchanged('a duplicate create');
      });

      it('create a deployment that exists → 409 AlreadyExists naming the group', async () => {
        const s = assertStatus(await k.post(DEPLOY, deployment('dep')), 409, 'AlreadyExists');
        assert.equal(s.message, 'deployments.apps "dep" already exists');
      });
    });

    describe('resource versions', () => {
      it('a list at a resourceVersion far in the future → 504 Timeout "Too large resource version"', async () => {
        const s = assertStatus(await k.get(`${CM}?resourceVersion=999999999`), 504, 'Timeout');
        assert.match(s.message, /Too large resource version/);
      });
      it('a get at a resourceVersion far in the future → 504 Timeout', async () => {
        assertStatus(await k.get(`${CM}/existing?resourceVersion=999999999`), 504, 'Timeout');
      });
      it('an update with a stale resourceVersion → 409 Conflict', async () => {
        const body = { ...existing, metadata: { ...existing.metadata, resourceVersion: '1' }, data: { a: 'stale' } };
        const s = assertStatus(await k.put(`${CM}/existing`, body), 409, 'Conflict');
        assert.equal(s.message, 'Operation cannot be fulfilled on configmaps "existing": the object has been modified; please apply your changes to the latest version and try again');
        await assertUnchanged('a stale update');
      });
    });

    // Last: on a server that gets these wrong they terminate namespaces. Each checks a fresh canary.
    describe('deleting namespaces', () => {
      const canary = async () => (await k.ok('POST', '/api/v1/namespaces', { body: { metadata: { generateName: 'canary-' } } })).metadata.name as string;
      const assertAlive = async (ns: string, what: string) => {
        const got = await k.ok('GET', `/api/v1/namespaces/${ns}`);
        assert.equal(got.metadata.deletionTimestamp, undefined, `${what} marked namespace ${ns} for deletion`);
      };

      it('DELETE of an immortal namespace (kube-public) → 403 Forbidden (NamespaceLifecycle admission)', async () => {
        const s = assertStatus(await k.delete('/api/v1/namespaces/kube-public'), 403, 'Forbidden');
        assert.equal(s.message, 'namespaces "kube-public" is forbidden: this namespace may not be deleted');
        const r = await k.get('/api/v1/namespaces/kube-public');
        assert.equal(r.status, 200, `kube-public is gone: ${r.text.slice(0, 200)}`);
        assert.equal(r.json.metadata.deletionTimestamp, undefined);
      });

      it('DELETE namespaces inside a namespace (no such route) → 404, nothing terminates', async () => {
        const c = await canary();
        const s = assertStatus(await k.delete(`/api/v1/namespaces/${c}/namespaces`), 404, 'NotFound');
        assert.equal(s.message, NOT_FOUND_PATH);
        await assertAlive(c, 'DELETE /api/v1/namespaces/<ns>/namespaces');
      });

      it('DELETE /api/v1/namespaces → 405 (namespaces have no deletecollection), nothing terminates', async () => {
        const c = await canary();
        assertStatus(await k.delete('/api/v1/namespaces'), 405, 'MethodNotAllowed', 'DELETE /api/v1/namespaces');
        await assertAlive(c, 'DELETE /api/v1/namespaces');
      });
    });
  });
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startInProcessCluster, type InProcessCluster } from '../../../../test/harness/in-process.js';
import { createCa, issueLeaf } from '../../../pki/issue.js';
import type { KubeObject } from '../../../api/types.js';
import type { ApiError } from '../../../api/errors.js';
import type { ResourceRef } from '../../../client/interface.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps' };
const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const MUTATING: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations' };
const VALIDATING: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations' };

type Review = { apiVersion: string; kind: string; request: Record<string, any> };
type Handler = (review: Review) => unknown | Promise<unknown>;

/** A real HTTPS webhook server: each path answers with its handler, and every review is kept. */
class WebhookServer {
  readonly seen: { path: string; review: Review }[] = [];
  readonly handlers = new Map<string, Handler>();
  port = 0;
  caBundle = '';
  private server!: Server;

  async start(): Promise<void> {
    const ca = await createCa('webhook-test-ca');
    const leaf = await issueLeaf(ca, { commonName: 'webhook', usage: 'server', ipAddresses: ['127.0.0.1'], validityDays: 1 });
    this.caBundle = Buffer.from(ca.cert).toString('base64');
    this.server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const path = (req.url ?? '').split('?')[0];
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
        this.seen.push({ path, review });
        const answer = await this.handlers.get(path)?.(review);
        if (res.destroyed) return;
        res.setHeader('Content-Type', 'application/json');
        res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `https://127.0.0.1:${this.port}${path}`;
  }

  reviewsAt(path: string): Review[] {
    return this.seen.filter((s) => s.path === path).map((s) => s.review);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function answer(review: Review, response: Record<string, unknown> = {}): object {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true, ...response } };
}

function jsonPatch(ops: object[]): Record<string, unknown> {
  return { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('admission webhooks', () => {
  let c: InProcessCluster;
  const hooks = new WebhookServer();
  let configs = 0;

  before(async () => {
    await hooks.start();
    c = await startInProcessCluster('webhooks');
  });
  after(async () => {
    await c.stop();
    await hooks.close();
  });

  function webhook(name: string, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name,
      clientConfig: { url: hooks.url(path), caBundle: hooks.caBundle },
      rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      ...extra,
    };
  }

  /** Creates a configuration and waits until the watch cache (what the dispatchers read) has it. */
  async function configure(ref: ResourceRef, webhooks: Record<string, unknown>[]): Promise<() => Promise<void>> {
    const kind = ref === MUTATING ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration';
    const name = `config-${++configs}`;
    const created = await c.client.create(ref, '', { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name }, webhooks } as KubeObject);
    await c.server.cache.waitFor(Number(created.metadata!.resourceVersion));
    return async () => {
      await c.client.delete(ref, '', name);
      await c.server.cache.waitFor(await c.store.currentRevision());
    };
  }

  const cm = (name: string, labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { a: '1' } });

  async function refused(p: Promise<unknown>): Promise<ApiError> {
    try {
      await p;
    } catch (err) {
      return err as ApiError;
    }
    assert.fail('the write was not refused');
  }

  test('configurations get upstream defaults and are validated', async () => {
    const cleanup = await configure(MUTATING, [webhook('defaults.example.com', '/unused', { rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['secrets'] }] })]);
    const stored = (await c.client.list(MUTATING, '')).items.find((o) => o.webhooks?.[0]?.name === 'defaults.example.com')!;
    const h = stored.webhooks[0];
    assert.equal(h.failurePolicy, 'Fail');
    assert.equal(h.matchPolicy, 'Equivalent');
    assert.equal(h.timeoutSeconds, 10);
    assert.equal(h.reinvocationPolicy, 'Never');
    assert.deepEqual(h.namespaceSelector, {});
    assert.deepEqual(h.objectSelector, {});
    assert.equal(h.rules[0].scope, '*');
    await cleanup();

    const err = await refused(
      c.client.create(VALIDATING, '', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'bad' },
        webhooks: [
          { ...webhook('short', '/x'), sideEffects: 'Unknown', timeoutSeconds: 31 },
          { ...webhook('dup.example.com', '/x'), clientConfig: { url: 'http://u:p@127.0.0.1/x?q=1' }, admissionReviewVersions: ['v2'] },
          { ...webhook('dup.example.com', '/x'), rules: [{ operations: ['*', 'CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['*', 'pods'] }], matchConditions: [{ name: 'c', expression: 'object.metadata.name ==' }] },
        ],
      } as KubeObject),
    );
    assert.equal(err.code, 422);
    const fields = (err.details?.causes ?? []).map((x) => `${x.field} ${x.reason}`);
    for (const want of [
      'webhooks[0].name FieldValueInvalid',
      'webhooks[0].sideEffects FieldValueNotSupported',
      'webhooks[0].timeoutSeconds FieldValueInvalid',
      'webhooks[1].clientConfig.url FieldValueInvalid',
      'webhooks[1].admissionReviewVersions FieldValueInvalid',
      'webhooks[2].name FieldValueDuplicate',
      'webhooks[2].rules[0].operations FieldValueInvalid',
      'webhooks[2].rules[0].resources FieldValueInvalid',
      'webhooks[2].matchConditions[0].expression FieldValueInvalid',
    ]) {
      assert.ok(fields.includes(want), `${want} in ${fields.join(', ')}`);
    }
    assert.match(err.message, /'https' is the only allowed URL scheme; desired format: https:\/\/host\[\/path\]/);
  });

  test('a mutating webhook patches the object before validation; the review is upstream\'s', async () => {
    hooks.handlers.set('/label', (r) => answer(r, jsonPatch([{ op: 'add', path: '/metadata/labels', value: { injected: 'yes' } }])));
    const cleanup = await configure(MUTATING, [webhook('label.example.com', '/label')]);
    try {
      const created = await c.client.create(CONFIGMAPS, 'default', cm('mutated'));
      assert.deepEqual(created.metadata?.labels, { injected: 'yes' });
      const stored = await c.client.get(CONFIGMAPS, 'default', 'mutated');
      assert.deepEqual(stored.metadata?.labels, { injected: 'yes' });
      const r = hooks.reviewsAt('/label').at(-1)!;
      assert.equal(r.apiVersion, 'admission.k8s.io/v1');
      assert.equal(r.kind, 'AdmissionReview');
      const q = r.request;
      assert.match(q.uid, /^[0-9a-f-]{36}$/);
      assert.deepEqual(q.kind, { group: '', version: 'v1', kind: 'ConfigMap' });
      assert.deepEqual(q.resource, { group: '', version: 'v1', resource: 'configmaps' });
      assert.deepEqual(q.requestKind, q.kind);
      assert.deepEqual(q.requestResource, q.resource);
      assert.equal(q.name, 'mutated');
      assert.equal(q.namespace, 'default');
      assert.equal(q.operation, 'CREATE');
      assert.equal(q.userInfo.username, 'system:apiserver');
      assert.equal(q.object.metadata.name, 'mutated');
      assert.equal(q.object.metadata.uid, undefined, 'mutating admission runs before the system fields are set');
      assert.equal(q.oldObject, null);
      assert.equal(q.dryRun, false);
      assert.deepEqual(q.options, { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' });

      // An update is patched too, and its review carries the old object.
      await c.client.update(CONFIGMAPS, 'default', { ...stored, metadata: { ...stored.metadata, labels: {} } });
      assert.deepEqual((await c.client.get(CONFIGMAPS, 'default', 'mutated')).metadata?.labels, { injected: 'yes' });
      const u = hooks.reviewsAt('/label').at(-1)!.request;
      assert.equal(u.operation, 'UPDATE');
      assert.deepEqual(u.oldObject.metadata.labels, { injected: 'yes' });
      assert.equal(u.options.kind, 'UpdateOptions');

      // A patch the strategy refuses is refused like client input (the label value is invalid).
      hooks.handlers.set('/label', (r) => answer(r, jsonPatch([{ op: 'add', path: '/metadata/labels', value: { bad: 'not valid!' } }])));
      const err = await refused(c.client.create(CONFIGMAPS, 'default', cm('badlabel')));
      assert.equal(err.code, 422);
    } finally {
      await cleanup();
    }
  });

  test('a validating webhook denies with its message and code; without a code it is 400', async () => {
    hooks.handlers.set('/deny', (r) => answer(r, { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'configmaps named "no-*" are not allowed' } }));
    hooks.handlers.set('/deny-plain', (r) => answer(r, { allowed: r.request.name !== 'no-plain', status: { message: 'nope' } }));
    const cleanup = await configure(VALIDATING, [
      webhook('deny.example.com', '/deny', { objectSelector: { matchLabels: { deny: 'yes' } } }),
      webhook('plain.example.com', '/deny-plain'),
    ]);
    try {
      const err = await refused(c.client.create(CONFIGMAPS, 'default', cm('no-1', { deny: 'yes' })));
      assert.equal(err.code, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.equal(err.message, 'admission webhook "deny.example.com" denied the request: configmaps named "no-*" are not allowed');
      const plain = await refused(c.client.create(CONFIGMAPS, 'default', cm('no-plain')));
      assert.equal(plain.code, 400);
      assert.equal(plain.message, 'admission webhook "plain.example.com" denied the request: nope');
      await c.client.create(CONFIGMAPS, 'default', cm('fine'));
    } finally {
      await cleanup();
    }
  });

  test('a webhook past its timeout follows its failurePolicy: Fail is a 500, Ignore lets the write through', async () => {
    hooks.handlers.set('/slow', async (r) => {
      await sleep(1500);
      return answer(r, { allowed: false });
    });
    const cleanup = await configure(VALIDATING, [
      webhook('slow-ignore.example.com', '/slow', { timeoutSeconds: 1, failurePolicy: 'Ignore', objectSelector: { matchLabels: { policy: 'ignore' } } }),
      webhook('slow-fail.example.com', '/slow', { timeoutSeconds: 1, failurePolicy: 'Fail', objectSelector: { matchLabels: { policy: 'fail' } } }),
    ]);
    try {
      const err = await refused(c.client.create(CONFIGMAPS, 'default', cm('slow-fail', { policy: 'fail' })));
      assert.equal(err.code, 500);
      assert.equal(err.reason, 'InternalError');
      assert.equal(
        err.message,
        `Internal error occurred: failed calling webhook "slow-fail.example.com": failed to call webhook: Post "https://127.0.0.1:${hooks.port}/slow?timeout=1s": context deadline exceeded`,
      );
      const created = await c.client.create(CONFIGMAPS, 'default', cm('slow-ignore', { policy: 'ignore' }));
      assert.equal(created.metadata?.name, 'slow-ignore');
    } finally {
      await cleanup();
    }
  });

  test('namespaceSelector matches by the namespace\'s labels (a Namespace by its own); objectSelector by new or old labels', async () => {
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } } });
    await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b', labels: { team: 'b' } } });
    hooks.handlers.set('/deny-all', (r) => answer(r, { allowed: false, status: { code: 403, message: `no ${r.request.resource.resource}` } }));
    const cleanup = await configure(VALIDATING, [
      webhook('ns.example.com', '/deny-all', {
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] },
        rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps', 'namespaces'] }],
      }),
    ]);
    try {
      await c.server.cache.waitFor(await c.store.currentRevision());
      await refused(c.client.create(CONFIGMAPS, 'team-a', cm('x')));
      await c.client.create(CONFIGMAPS, 'team-b', cm('x'));
      const nsErr = await refused(c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a2', labels: { team: 'a' } } }));
      assert.equal(nsErr.message, 'admission webhook "ns.example.com" denied the request: no namespaces');
      await c.client.create(NAMESPACES, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-c', labels: { team: 'c' } } });
    } finally {
      await cleanup();
    }
    // objectSelector: an update is sent when the old object matches even though the new one does not.
    hooks.handlers.set('/guard', (r) => answer(r, { allowed: false, status: { code: 403, message: 'guarded' } }));
    const guard = await configure(VALIDATING, [webhook('guard.example.com', '/guard', { objectSelector: { matchLabels: { guarded: 'true' } } })]);
    try {
      const free = await c.client.create(CONFIGMAPS, 'team-b', cm('free'));
      assert.equal(free.metadata?.name, 'free');
      await refused(c.client.create(CONFIGMAPS, 'team-b', cm('g', { guarded: 'true' })));
    } finally {
      await guard();
    }
    const kept = await c.client.create(CONFIGMAPS, 'team-b', cm('kept', { guarded: 'true' }));
    const again = await configure(VALIDATING, [webhook('guard2.example.com', '/guard', { objectSelector: { matchLabels: { guarded: 'true' } } })]);
    try {
      await refused(c.client.update(CONFIGMAPS, 'team-b', { ...kept, metadata: { ...kept.metadata, labels: {} } }));
    } finally {
      await again();
    }
  });

  test('DELETE is sent with the old object and can be denied; a mutating patch on DELETE is an error', async () => {
    await c.client.create(CONFIGMAPS, 'default', cm('keep-me', { protect: 'yes' }));
    hooks.handlers.set('/no-delete', (r) => answer(r, { allowed: r.request.oldObject?.metadata?.labels?.protect !== 'yes', status: { code: 403, message: 'protected' } }));
    const cleanup = await configure(VALIDATING, [webhook('nodelete.example.com', '/no-delete', { rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }] })]);
    try {
      const err = await refused(c.client.delete(CONFIGMAPS, 'default', 'keep-me'));
      assert.equal(err.code, 403);
      assert.equal(err.message, 'admission webhook "nodelete.example.com" denied the request: protected');
      const q = hooks.reviewsAt('/no-delete').at(-1)!.request;
      assert.equal(q.operation, 'DELETE');
      assert.equal(q.object, null);
      assert.equal(q.oldObject.metadata.name, 'keep-me');
      assert.equal(q.name, 'keep-me');
      assert.equal(q.options.kind, 'DeleteOptions');
      await c.client.get(CONFIGMAPS, 'default', 'keep-me');
    } finally {
      await cleanup();
    }
    hooks.handlers.set('/patch-delete', (r) => answer(r, jsonPatch([{ op: 'add', path: '/metadata/labels/x', value: 'y' }])));
    const mutating = await configure(MUTATING, [webhook('patchdelete.example.com', '/patch-delete', { rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }] })]);
    try {
      const err = await refused(c.client.delete(CONFIGMAPS, 'default', 'keep-me'));
      assert.equal(err.code, 500);
      assert.match(err.message, /admission webhook "patchdelete.example.com" attempted to modify the object, which is not supported for this operation/);
    } finally {
      await mutating();
    }
    await c.client.delete(CONFIGMAPS, 'default', 'keep-me');
  });

  test('dry run: a webhook with side effects refuses it (400); one without them is told dryRun', async () => {
    // sideEffects Unknown can no longer be created in v1: store it as an older server would have.
    const legacy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'legacy', uid: 'legacy-uid', creationTimestamp: '2020-01-01T00:00:00Z' },
      webhooks: [{ ...webhook('legacy.example.com', '/allow'), sideEffects: 'Unknown', failurePolicy: 'Fail', matchPolicy: 'Equivalent', timeoutSeconds: 10, namespaceSelector: {}, objectSelector: {} }],
    };
    hooks.handlers.set('/allow', (r) => answer(r));
    const kv = await c.store.create('/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/legacy', JSON.stringify(legacy));
    await c.server.cache.waitFor(kv.modRevision);
    try {
      const err = await refused(c.client.create(CONFIGMAPS, 'default', cm('dry'), { dryRun: true }));
      assert.equal(err.code, 400);
      assert.equal(err.message, 'admission webhook "legacy.example.com" does not support dry run');
      await c.client.create(CONFIGMAPS, 'default', cm('wet'));
    } finally {
      await c.client.delete(VALIDATING, '', 'legacy');
    }
    const cleanup = await configure(VALIDATING, [webhook('clean.example.com', '/allow', { sideEffects: 'NoneOnDryRun' })]);
    try {
      await c.client.create(CONFIGMAPS, 'default', cm('dry2'), { dryRun: true });
      const q = hooks.reviewsAt('/allow').at(-1)!.request;
      assert.equal(q.dryRun, true);
      assert.deepEqual(q.options.dryRun, ['All']);
    } finally {
      await cleanup();
    }
  });

  test('reinvocation: an IfNeeded webhook is called once more when a later webhook changed the object', async () => {
    hooks.handlers.set('/first', (r) => answer(r, r.request.object.metadata.annotations?.first ? {} : jsonPatch([{ op: 'add', path: '/metadata/annotations', value: { ...r.request.object.metadata.annotations, first: 'done' } }])));
    hooks.handlers.set('/second', (r) => answer(r, jsonPatch([{ op: 'add', path: '/data/second', value: 'done' }])));
    const cleanup = await configure(MUTATING, [
      webhook('first.example.com', '/first', { reinvocationPolicy: 'IfNeeded', objectSelector: { matchLabels: { reinvoke: 'yes' } } }),
      webhook('second.example.com', '/second', { objectSelector: { matchLabels: { reinvoke: 'yes' } } }),
    ]);
    try {
      const before = hooks.seen.length;
      const created = await c.client.create(CONFIGMAPS, 'default', cm('reinvoked', { reinvoke: 'yes' }));
      const calls = hooks.seen.slice(before).map((s) => s.path);
      assert.deepEqual(calls, ['/first', '/second', '/first']);
      assert.equal(hooks.reviewsAt('/first').at(-1)!.request.object.data.second, 'done', 'the second call sees the later webhook\'s change');
      assert.equal(created.metadata?.annotations?.first, 'done');
      assert.equal(created.data?.second, 'done');
    } finally {
      await cleanup();
    }
  });

  test('bad webhook answers are 500s with upstream\'s reasons, never a crash', async () => {
    const cases: [string, (r: Review) => unknown, RegExp][] = [
      ['/bad-uid', (r) => ({ ...answer(r), response: { uid: 'other', allowed: true } }), /received invalid webhook response: expected response.uid="[0-9a-f-]+", got "other"$/],
      ['/bad-json', () => '{not json', /failed to call webhook: couldn't get version\/kind; json parse error: /],
      ['/bad-version', (r) => ({ ...answer(r), apiVersion: 'admission.k8s.io/v2' }), /expected webhook response of admission.k8s.io\/v1, Kind=AdmissionReview, got admission.k8s.io\/v2, Kind=AdmissionReview$/],
      ['/no-response', () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /received invalid webhook response: webhook response was absent$/],
      ['/validating-patch', (r) => answer(r, jsonPatch([])), /received invalid webhook response: validating webhook may not return response.patch$/],
    ];
    for (const [path, handler, want] of cases) {
      hooks.handlers.set(path, handler);
      const name = `${path.slice(1)}.example.com`;
      const cleanup = await configure(VALIDATING, [webhook(name, path)]);
      try {
        const err = await refused(c.client.create(CONFIGMAPS, 'default', cm(`bad${path.replace('/', '-')}`)));
        assert.equal(err.code, 500, path);
        assert.ok(err.message.startsWith(`Internal error occurred: failed calling webhook "${name}": `), err.message);
        assert.match(err.message, want);
      } finally {
        await cleanup();
      }
    }
    // Nothing listening at all.
    const cleanup = await configure(VALIDATING, [{ ...webhook('gone.example.com', '/x'), clientConfig: { url: 'https://127.0.0.1:1/x', caBundle: hooks.caBundle } }]);
    try {
      const err = await refused(c.client.create(CONFIGMAPS, 'default', cm('gone')));
      assert.equal(err.message, 'Internal error occurred: failed calling webhook "gone.example.com": failed to call webhook: Post "https://127.0.0.1:1/x?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused');
    } finally {
      await cleanup();
    }
  });

  test('warnings from webhooks reach the client\'s Warning header', async () => {
    hooks.handlers.set('/warn', (r) => answer(r, { warnings: ['this configmap is deprecated'] }));
    const cleanup = await configure(VALIDATING, [webhook('warn.example.com', '/warn')]);
    const port = await c.server.listen(0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces/default/configmaps`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(cm('warned')),
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('warning'), '299 - "this configmap is deprecated"');
    } finally {
      await cleanup();
    }
  });
});

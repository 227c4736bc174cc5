import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import { startSkiff, type SkiffProcess } from '../../test/harness/skiff.js';
import { HttpsClient, LineSplitter, resourcePath, toApiError } from './https.js';
import type { WatchEventType } from './interface.js';

const configmaps = { group: '', version: 'v1', resource: 'configmaps' };
const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const NS = 'default';

function cm(name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

async function rejectsWith(p: Promise<unknown>, code: number, reason: string): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail(`expected ${code} ${reason}, but the call succeeded`);
}

/** Waits (bounded) until `pred` holds, polling. */
async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('HTTPS client: paths and errors (no server)', () => {
  it('builds core, group, namespaced, cluster-scoped and subresource paths', () => {
    assert.equal(resourcePath(configmaps, 'ns1', 'a'), '/api/v1/namespaces/ns1/configmaps/a');
    assert.equal(resourcePath(deployments, 'ns1'), '/apis/apps/v1/namespaces/ns1/deployments');
    assert.equal(resourcePath(deployments, 'ns1', 'd', 'status'), '/apis/apps/v1/namespaces/ns1/deployments/d/status');
    assert.equal(resourcePath({ group: '', version: 'v1', resource: 'nodes' }, '', 'n1'), '/api/v1/nodes/n1');
  });

  it('turns a Status body into the same ApiError, and a bare failure into one from the code', () => {
    const e = toApiError(404, JSON.stringify({ kind: 'Status', apiVersion: 'v1', code: 404, reason: 'NotFound', message: 'x', details: { name: 'a', kind: 'configmaps' } }));
    assert.deepEqual([e.code, e.reason, e.message, e.details], [404, 'NotFound', 'x', { name: 'a', kind: 'configmaps' }]);
    const bare = toApiError(503, 'no');
    assert.deepEqual([bare.code, bare.reason, bare.message], [503, 'ServiceUnavailable', 'no']);
  });
});

describe('LineSplitter', () => {
  it('reassembles watch events split across chunks at any point', () => {
    const events = [
      { type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'ä-1' } } },
      { type: 'MODIFIED', object: { kind: 'ConfigMap', metadata: { name: 'b' } } },
      { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } },
    ];
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
    for (let size = 1; size <= text.length; size += 7) {
      const s = new LineSplitter();
      const got: string[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)));
      assert.equal(s.end(), '');
      assert.deepEqual(got.map((l) => JSON.parse(l)), events, `chunk size ${size}`);
    }
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}'), []);
    assert.equal(s.end(), '{"b":2}');
  });
});

describe('HTTPS client against a running skiff (sqlite)', () => {
  let skiff: SkiffProcess;
  let client: HttpsClient;

  before(async () => {
    skiff = await startSkiff({ backend: 'sqlite' });
    client = await HttpsClient.fromKubeconfig(skiff.kubeconfig);
  });

  after(async () => {
    client?.close();
    await skiff?.stop();
  });

  it('creates, gets, updates (409 on a stale resourceVersion), patches and deletes', async () => {
    const created = await client.create(configmaps, NS, cm('crud', { app: 'crud' }, { a: '1' }));
    assert.equal(created.metadata?.name, 'crud');
    assert.ok(created.metadata?.resourceVersion);
    await rejectsWith(client.create(configmaps, NS, cm('crud')), 409, 'AlreadyExists');

    const got = await client.get(configmaps, NS, 'crud');
    assert.deepEqual(got.data, { a: '1' });

    const updated = await client.update(configmaps, NS, { ...got, data: { a: '2' } });
    assert.deepEqual(updated.data, { a: '2' });
    assert.notEqual(updated.metadata?.resourceVersion, got.metadata?.resourceVersion);
    const stale = await rejectsWith(client.update(configmaps, NS, { ...got, data: { a: '3' } }), 409, 'Conflict');
    assert.equal(stale.details?.name, 'crud');

    const merged = await client.patch(configmaps, NS, 'crud', 'application/merge-patch+json', { data: { b: 'x' } });
    assert.deepEqual(merged.data, { a: '2', b: 'x' });
    const strategic = await client.patch(configmaps, NS, 'crud', 'application/strategic-merge-patch+json', { metadata: { labels: { tier: 'web' } } });
    assert.deepEqual(strategic.metadata?.labels, { app: 'crud', tier: 'web' });
    assert.deepEqual(strategic.data, { a: '2', b: 'x' });

    await client.delete(configmaps, NS, 'crud', { propagationPolicy: 'Background' });
    const gone = await rejectsWith(client.get(configmaps, NS, 'crud'), 404, 'NotFound');
    assert.equal(gone.details?.name, 'crud');
    await rejectsWith(client.delete(configmaps, NS, 'crud'), 404, 'NotFound');
  });

  it('lists with a label selector and pages with limit and continue', async () => {
    for (let i = 0; i < 5; i++) await client.create(configmaps, NS, cm(`page-${i}`, { set: 'paging', odd: String(i % 2 === 1) }));

    const odd = await client.list(configmaps, NS, { labelSelector: 'set=paging,odd=true' });
    assert.deepEqual(odd.items.map((o) => o.metadata?.name).sort(), ['page-1', 'page-3']);
    assert.ok(odd.resourceVersion);
    assert.equal(odd.items[0]!.kind, 'ConfigMap');

    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await client.list(configmaps, NS, { labelSelector: 'set=paging', limit: 2, continue: cont });
      assert.ok(page.items.length <= 2);
      names.push(...page.items.map((o) => o.metadata!.name!));
      cont = page.continue;
      pages++;
      assert.ok(pages <= 5, 'paging does not end');
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(names.sort(), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  it('answers an unknown resource with a 404 ApiError', async () => {
    await rejectsWith(client.list({ group: '', version: 'v1', resource: 'nosuchthings' }, NS), 404, 'NotFound');
  });

  it('watches ADDED, MODIFIED and DELETED in order, and stop() ends the stream quietly', async () => {
    const start = await client.list(configmaps, NS);
    const events: { type: WatchEventType; obj: KubeObject }[] = [];
    const w = client.watch(configmaps, NS, { resourceVersion: start.resourceVersion, fieldSelector: 'metadata.name=watched' }, (type, obj) =>
      events.push({ type, obj }),
    );
    try {
      const c = await client.create(configmaps, NS, cm('watched', {}, { v: '1' }));
      await client.update(configmaps, NS, { ...c, data: { v: '2' } });
      await client.delete(configmaps, NS, 'watched');
      await until(() => events.length >= 3, 'three watch events');
      assert.deepEqual(
        events.map((e) => [e.type, e.obj.metadata?.name]),
        [
          ['ADDED', 'watched'],
          ['MODIFIED', 'watched'],
          ['DELETED', 'watched'],
        ],
      );
      assert.deepEqual(events[1]!.obj.data, { v: '2' });
      assert.ok(Object.isFrozen(events[0]!.obj), 'watch objects are frozen, as in-process');
    } finally {
      w.stop();
    }
    const seen = events.length;
    await client.create(configmaps, NS, cm('watched-after-stop'));
    await client.delete(configmaps, NS, 'watched-after-stop');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.length, seen, 'no events (not even ERROR) after stop()');
  });

  it('delivers the server’s ERROR Status for a watch from a compacted or bad resourceVersion, exactly once', async () => {
    const events: { type: WatchEventType; obj: KubeObject }[] = [];
    const w = client.watch(configmaps, NS, { resourceVersion: 'not-a-number' }, (type, obj) => events.push({ type, obj }));
    try {
      await until(() => events.length >= 1, 'an ERROR event');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'ERROR');
      assert.equal(events[0]!.obj.kind, 'Status');
      assert.equal(typeof events[0]!.obj.code, 'number');
      assert.ok(events[0]!.obj.code >= 400);
    } finally {
      w.stop();
    }
  });

  it('delivers an ERROR StreamEnded when the server goes away, so callers can restart', async () => {
    // A second server of its own, so stopping it does not disturb the other tests.
    const other = await startSkiff({ backend: 'sqlite' });
    const c2 = await HttpsClient.fromKubeconfig(other.kubeconfig);
    const events: { type: WatchEventType; obj: KubeObject }[] = [];
    const w = c2.watch(configmaps, NS, {}, (type, obj) => events.push({ type, obj }));
    try {
      await c2.create(configmaps, NS, cm('before-stop'));
      await until(() => events.some((e) => e.type === 'ADDED' && e.obj.metadata?.name === 'before-stop'), 'the ADDED event');
      await other.stop();
      await until(() => events.some((e) => e.type === 'ERROR'), 'the ERROR event after the server stopped');
      const err = events.find((e) => e.type === 'ERROR')!.obj;
      assert.equal(err.kind, 'Status');
      assert.equal(err.reason, 'StreamEnded');
      assert.equal(events.filter((e) => e.type === 'ERROR').length, 1);
    } finally {
      w.stop();
      c2.close();
      await other.stop();
    }
  });

  it('lists the served resources from aggregated discovery with preferred versions', async () => {
    const rs = await client.resources();
    const cmr = rs.find((r) => r.ref.group === '' && r.ref.resource === 'configmaps');
    assert.ok(cmr, 'configmaps is served');
    assert.deepEqual([cmr.ref.version, cmr.kind, cmr.namespaced, cmr.preferred], ['v1', 'ConfigMap', true, true]);
    assert.ok(cmr.verbs.includes('watch'));
    const dep = rs.find((r) => r.ref.group === 'apps' && r.ref.resource === 'deployments');
    assert.ok(dep, 'deployments is served');
    assert.deepEqual([dep.ref.version, dep.kind, dep.namespaced, dep.preferred], ['v1', 'Deployment', true, true]);
    const nodes = rs.find((r) => r.ref.resource === 'nodes');
    assert.equal(nodes?.namespaced, false);
    for (const r of rs) assert.ok(!r.ref.resource.includes('/'), `no subresources in the list: ${r.ref.resource}`);
    // Every group has exactly one preferred version.
    const preferredPerGroup = new Map<string, Set<string>>();
    for (const r of rs.filter((x) => x.preferred)) preferredPerGroup.set(r.ref.group, (preferredPerGroup.get(r.ref.group) ?? new Set()).add(r.ref.version));
    for (const [g, vs] of preferredPerGroup) assert.equal(vs.size, 1, `group ${g} has one preferred version`);
  });
});

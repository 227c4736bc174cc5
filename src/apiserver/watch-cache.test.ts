import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../storage/sqlite.js';
import { WatchCache, resourcePrefixOf, withResourceVersion, type EventType } from './watch-cache.js';
import { ApiError } from '../api/errors.js';

describe('watch cache helpers', () => {
  it('finds the resource prefix of core, grouped and custom resource keys', () => {
    assert.equal(resourcePrefixOf('/registry/pods/default/web'), '/registry/pods/');
    assert.equal(resourcePrefixOf('/registry/namespaces/default'), '/registry/namespaces/');
    assert.equal(resourcePrefixOf('/registry/apps/deployments/default/web'), '/registry/apps/deployments/');
    assert.equal(resourcePrefixOf('/registry/example.com/widgets/default/w'), '/registry/example.com/widgets/');
  });

  it('splices the resourceVersion into stored JSON', () => {
    assert.equal(withResourceVersion('{"apiVersion":"v1","kind":"X","metadata":{"name":"a"}}', 7), '{"apiVersion":"v1","kind":"X","metadata":{"resourceVersion":"7","name":"a"}}');
    assert.equal(withResourceVersion('{"apiVersion":"v1","kind":"X","metadata":{}}', 7), '{"apiVersion":"v1","kind":"X","metadata":{"resourceVersion":"7"}}');
  });
});

describe('watch cache over a real SQLite store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-wc-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  const cache = new WatchCache(store);
  const put = (name: string, data: string) => `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}","namespace":"a"},"data":{"v":"${data}"}}`;
  after(async () => {
    cache.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replays events after a revision, then delivers live ones, with selector transitions', async () => {
    const first = await store.create('/registry/configmaps/a/one', put('one', '1'));
    await cache.start();
    const second = await store.update('/registry/configmaps/a/one', put('one', '2'), first.modRevision);
    await cache.waitFor(second.modRevision);
    const seen: [EventType, string, number][] = [];
    const h = cache.watch(
      '/registry/configmaps/',
      { keyPrefix: '/registry/configmaps/a/', matches: (o) => o.data?.v !== '3', onEvent: (t, ev) => seen.push([t, ev.obj.metadata!.name!, ev.rv]) },
      first.modRevision,
    );
    const third = await store.update('/registry/configmaps/a/one', put('one', '3'), second.modRevision);
    await cache.waitFor(third.modRevision);
    h.stop();
    // The update to v=3 leaves the selection: the watcher sees it as DELETED.
    assert.deepEqual(seen, [
      ['MODIFIED', 'one', second.modRevision],
      ['DELETED', 'one', third.modRevision],
    ]);
  });

  it('answers 410 for a revision older than what the cache can replay', () => {
    assert.throws(
      () => cache.watch('/registry/configmaps/', { keyPrefix: '/registry/configmaps/', matches: () => true, onEvent: () => {} }, 0),
      (err: unknown) => err instanceof ApiError && err.code === 410 && err.reason === 'Expired',
    );
  });

  it('sends the current state as ADDED when no revision is given', () => {
    const seen: string[] = [];
    const h = cache.watch('/registry/configmaps/', { keyPrefix: '/registry/configmaps/', matches: () => true, onEvent: (t, ev) => seen.push(`${t} ${ev.obj.data.v}`) }, undefined);
    h.stop();
    assert.deepEqual(seen, ['ADDED 3']);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WatchCollector, storeConformance } from './conformance.js';
import { openSqliteStore } from './sqlite.js';
import { type Store, StoreError } from './store.js';

async function tempStore() {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-sqlite-'));
  const path = join(dir, 'skiff.db');
  const opened: Store[] = [];
  const openOne = async () => {
    const store = await openSqliteStore(path);
    opened.push(store);
    return store;
  };
  const store = await openOne();
  return {
    path,
    store,
    async reopen() {
      await store.close();
      return openOne();
    },
    async cleanup() {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeConformance('sqlite', tempStore);

describe('sqlite store', () => {
  it('refuses a second opener of the same file', async () => {
    const f = await tempStore();
    try {
      await assert.rejects(openSqliteStore(f.path), (err) => err instanceof StoreError && err.code === 'Unavailable');
      assert.equal(await f.store.count('/'), 0, 'the owner keeps working');
    } finally {
      await f.cleanup();
    }
  });

  it('ends a watch with Compacted when compaction overtakes its replay', async () => {
    const f = await tempStore();
    try {
      for (let i = 0; i < 10; i++) await f.store.create(`/registry/pods/default/p${i}`, '{}');
      const collector = new WatchCollector();
      f.store.watch('/registry/pods/', 0, collector);
      // The replay starts on a later turn; compaction gets there first.
      await f.store.compact(5);
      assert.equal((await collector.waitForError()).code, 'Compacted');
      assert.equal(collector.events.length, 0);
    } finally {
      await f.cleanup();
    }
  });

  it('ends a watch whose handler throws, and keeps delivering to the others', async () => {
    const f = await tempStore();
    try {
      const bad = new WatchCollector();
      bad.onEvent = () => {
        throw new Error('boom');
      };
      const good = new WatchCollector();
      f.store.watch('/', 0, bad);
      f.store.watch('/', 0, good);
      await f.store.create('/a', '1');
      await f.store.create('/b', '2');
      assert.match((await bad.waitForError()).message, /boom/);
      assert.deepEqual((await good.waitForEvents(2)).map((e) => e.kv.key), ['/a', '/b']);
    } finally {
      await f.cleanup();
    }
  });

  it('closing the store ends its watches with Unavailable and refuses further calls', async () => {
    const f = await tempStore();
    const collector = new WatchCollector();
    f.store.watch('/', 0, collector);
    await f.store.close();
    assert.equal((await collector.waitForError()).code, 'Unavailable');
    await assert.rejects(f.store.get('/a'), (err) => err instanceof StoreError && err.code === 'Unavailable');
    await f.cleanup();
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, startEtcd, type EtcdProcess } from '../../test/harness/etcd.js';
import { WatchCollector, storeConformance } from './conformance.js';
import { openEtcdStore } from './etcd.js';
import { type Store, StoreError } from './store.js';

// One etcd for the whole file; each test gets its own key prefix. Tests in a file run one at a
// time, so the revision counter they share only moves under the test that is running.
let etcd: Promise<EtcdProcess> | undefined;
let fixtures = 0;

after(async () => {
  if (etcd) await (await etcd).stop();
});

async function open() {
  etcd ??= startEtcd();
  const server = await etcd;
  const prefix = `/skiff-test-${++fixtures}`;
  const opened: Store[] = [];
  const openOne = async () => {
    const store = await openEtcdStore({ endpoints: server.endpoints, prefix });
    opened.push(store);
    return store;
  };
  const store = await openOne();
  return {
    store,
    async reopen() {
      await store.close();
      await server.restart();
      return openOne();
    },
    openPeer: openOne,
    async cleanup() {
      for (const s of opened) await s.close();
    },
  };
}

storeConformance('etcd', open, { peers: true });

describe('etcd store', () => {
  it('a watch survives an etcd restart without losing or repeating events', async () => {
    const f = await open();
    const server = await etcd!;
    try {
      const p = '/registry/pods/default/';
      const r0 = await f.store.currentRevision();
      const collector = new WatchCollector();
      const watcher = f.store.watch(p, r0, collector);
      for (let i = 0; i < 5; i++) await f.store.create(`${p}before-${i}`, '{}');
      await collector.waitForEvents(5);
      await server.restart();
      // The first call after the restart may find the old connection broken; that is Unavailable, once.
      const first = await retryUnavailable(() => f.store.create(`${p}after-0`, '{}'));
      assert.equal(first.modRevision, r0 + 6);
      for (let i = 1; i < 5; i++) await f.store.create(`${p}after-${i}`, '{}');
      const events = await collector.waitForEvents(10);
      assert.deepEqual(events.map((e) => e.revision), Array.from({ length: 10 }, (_, i) => r0 + 1 + i));
      watcher.stop();
    } finally {
      await f.cleanup();
    }
  });

  it('maps an unreachable etcd to Unavailable', async () => {
    const port = await freePort();
    await assert.rejects(openEtcdStore({ endpoints: [`http://127.0.0.1:${port}`] }),
      (err) => err instanceof StoreError && err.code === 'Unavailable');
  });
});

async function retryUnavailable<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'Unavailable') || attempt === 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

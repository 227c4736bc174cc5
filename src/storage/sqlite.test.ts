import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import Database from 'better-sqlite3';
import { WatchCollector, expectStoreError, storeConformance } from './conformance.js';
import { openSqliteStore } from './sqlite.js';
import { type KeyValue, type Store, StoreError } from './store.js';

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

/** What the next statements of a store opened by `openWithFaults` do wrong. */
interface Faults {
  /** The next COMMIT fails: 'open' leaves the transaction open, 'rolledBack' rolls it back first (as an I/O error may). */
  commit?: 'open' | 'rolledBack';
  /** Writing this key's `log` row fails. */
  logKey?: string;
}

/**
 * Opens a store whose COMMIT and `log` inserts fail on demand: better-sqlite3's prepare is wrapped
 * while the store prepares its statements, and restored before anything else runs.
 */
async function openWithFaults(path: string): Promise<{ store: Store; faults: Faults }> {
  const faults: Faults = {};
  const prepare = Database.prototype.prepare;
  const injected = (message: string) => Object.assign(new Error(message), { code: 'SQLITE_IOERR' });
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    const stmt = prepare.call(this, sql) as Database.Statement<unknown[]>;
    if (sql === 'COMMIT') {
      return {
        run: () => {
          const mode = faults.commit;
          if (mode === undefined) return stmt.run();
          faults.commit = undefined;
          if (mode === 'rolledBack') this.exec('ROLLBACK');
          throw injected('disk I/O error (injected)');
        },
      };
    }
    if (sql.startsWith('INSERT INTO log')) {
      return {
        run: (...args: unknown[]) => {
          if (args[1] === faults.logKey) throw injected('disk I/O error (injected)');
          return stmt.run(...args);
        },
      };
    }
    return stmt;
  } as typeof prepare;
  try {
    return { store: await openSqliteStore(path), faults };
  } finally {
    Database.prototype.prepare = prepare;
  }
}

/** Whether `promise` has settled, after letting pending microtasks (but no macrotask) run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

async function eventually(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('sqlite store: group commit', () => {
  it('writes of one turn share a commit: all resolve, revisions consecutive, events in order after the commit', async () => {
    const f = await tempStore();
    try {
      const { store } = f;
      const r0 = await store.currentRevision();
      const collector = new WatchCollector();
      store.watch('/gc/', r0, collector);
      const n = 200;
      const writes: Promise<KeyValue>[] = [];
      for (let i = 0; i < n; i++) writes.push(store.create(`/gc/k${String(i).padStart(3, '0')}`, `v${i}`));
      // Revisions are known in advance: the batch hands them out in call order.
      writes.push(store.update('/gc/k000', 'v0 again', r0 + 1));
      writes.push(store.delete('/gc/k001', r0 + 2));

      assert.equal(await settled(writes[0]), false, 'nothing settles before the commit at the end of the turn');
      assert.equal(await store.currentRevision(), r0, 'the revision moves only at the commit');
      assert.equal(collector.events.length, 0, 'no event before the commit');

      const kvs = await Promise.all(writes);
      assert.deepEqual(kvs.map((kv) => kv.modRevision), Array.from({ length: n + 2 }, (_, i) => r0 + 1 + i));
      assert.deepEqual(kvs[n], { key: '/gc/k000', value: 'v0 again', createRevision: r0 + 1, modRevision: r0 + n + 1 });
      assert.equal(await store.currentRevision(), r0 + n + 2);
      const events = await collector.waitForEvents(n + 2);
      assert.deepEqual(events.map((e) => e.revision), kvs.map((kv) => kv.modRevision));
      assert.deepEqual(events[n].prevKv, kvs[0]);
      assert.equal(events[n + 1].type, 'delete');
      assert.equal(await store.count('/gc/'), n - 1);
    } finally {
      await f.cleanup();
    }
  });

  it('CAS inside one batch: of two updates at the same expected revision in one turn, exactly one wins', async () => {
    const f = await tempStore();
    try {
      const { store } = f;
      const base = await store.create('/cas/k', 'base');
      const other = await store.create('/cas/other', 'other');
      const first = store.update('/cas/k', 'first', base.modRevision);
      const second = store.update('/cas/k', 'second', base.modRevision);
      const createTwice = [store.create('/cas/new', '1'), store.create('/cas/new', '2')];
      // A conflict with committed state is final at once; one with the batch's own write waits
      // for that write to commit, and carries it.
      const stale = store.update('/cas/other', 'x', other.modRevision - 1);
      assert.equal(await settled(stale), true, 'a conflict with committed state is reported at once');
      await expectStoreError(stale, 'Conflict');
      assert.equal(await settled(second), false, 'a conflict with an uncommitted write waits for its commit');

      const won = await first;
      assert.equal(won.modRevision, base.modRevision + 2);
      const conflict = await expectStoreError(second, 'Conflict');
      assert.deepEqual(conflict.current, won, 'the loser learns the winner');
      const [created, again] = await Promise.allSettled(createTwice);
      assert.equal(created.status, 'fulfilled');
      assert.ok(again.status === 'rejected' && again.reason instanceof StoreError && again.reason.code === 'AlreadyExists');
      assert.equal(await store.currentRevision(), base.modRevision + 3, 'failed writes take no revision');
      assert.deepEqual(await store.get('/cas/k'), won);
    } finally {
      await f.cleanup();
    }
  });

  it('a read in the same turn as pending writes sees committed state only', async () => {
    const f = await tempStore();
    try {
      const { store } = f;
      const a = await store.create('/r/a', 'a1');
      await store.create('/s/x', 'x');
      const r = await store.currentRevision();
      const pendingB = store.create('/r/b', 'b1');
      const pendingA = store.update('/r/a', 'a2', a.modRevision);

      assert.equal(await store.currentRevision(), r);
      // Reads the batch cannot affect run inside its transaction and leave it open.
      assert.equal((await store.get('/s/x'))?.value, 'x');
      assert.deepEqual(await store.list('/s/'), { items: [(await store.get('/s/x'))!], revision: r, more: false, remaining: 0 });
      assert.equal(await store.count('/s/'), 1);
      assert.deepEqual((await store.list('/r/', { revision: a.modRevision })).items, [a], 'a read at a past revision ignores the batch');
      assert.equal(await settled(pendingB), false, 'those reads did not end the batch');

      // A read that could see the batch commits it first, then sees it committed.
      const list = await store.list('/r/');
      assert.equal(list.revision, r + 2);
      assert.deepEqual(list.items.map((kv) => kv.value), ['a2', 'b1']);
      assert.equal(await settled(pendingB), true);
      assert.deepEqual(await pendingA, list.items[0]);
      assert.equal(await store.currentRevision(), r + 2);
    } finally {
      await f.cleanup();
    }
  });

  it('a read that ends a batch whose commit fails sees none of it', async () => {
    const f = await tempStore();
    await f.store.close();
    const { store, faults } = await openWithFaults(f.path);
    try {
      const a = await store.create('/r/a', 'a1');
      const r = await store.currentRevision();
      const pendingA = store.update('/r/a', 'a2', a.modRevision);
      const pendingB = store.create('/r/b', 'b1');
      faults.commit = 'open';
      assert.deepEqual(await store.get('/r/a'), a, 'the read sees the committed value, not the failed one');
      await expectStoreError(pendingA, 'Unavailable');
      await expectStoreError(pendingB, 'Unavailable');
      assert.equal(await store.currentRevision(), r);
      assert.deepEqual((await store.list('/r/')).items, [a]);
      assert.equal((await store.create('/r/c', 'c1')).modRevision, r + 1, 'the failed revisions are handed out again');
    } finally {
      await store.close();
      await f.cleanup();
    }
  });

  for (const mode of ['open', 'rolledBack'] as const) {
    it(`a failed COMMIT (transaction left ${mode}) rejects every write of the batch and delivers none of its events`, async () => {
      const f = await tempStore();
      await f.store.close();
      const { store, faults } = await openWithFaults(f.path);
      try {
        const r0 = await store.currentRevision();
        const collector = new WatchCollector();
        store.watch('/f/', r0, collector);
        const writes = Array.from({ length: 5 }, (_, i) => store.create(`/f/k${i}`, `v${i}`));
        faults.commit = mode;
        const results = await Promise.allSettled(writes);
        for (const res of results) {
          assert.ok(res.status === 'rejected' && res.reason instanceof StoreError && res.reason.code === 'Unavailable',
            `rejected with Unavailable: ${res.status === 'rejected' ? res.reason : 'fulfilled'}`);
          assert.match(String((res.reason as Error).cause), /injected/, 'with the cause');
        }
        assert.equal(await store.currentRevision(), r0);
        assert.equal(await store.count('/f/'), 0);
        const next = await store.create('/f/after', 'a');
        assert.equal(next.modRevision, r0 + 1);
        assert.deepEqual((await collector.waitForKey(next.key)).map((e) => e.kv.key), ['/f/after'], 'no event from the failed batch');
        const replay = new WatchCollector();
        store.watch('/f/', r0, replay);
        assert.deepEqual((await replay.waitForEvents(1)).map((e) => e.revision), [r0 + 1]);
      } finally {
        await store.close();
        await f.cleanup();
      }
    });
  }

  it('a write failing on an I/O error fails its whole batch; later writes go on', async () => {
    const f = await tempStore();
    await f.store.close();
    const { store, faults } = await openWithFaults(f.path);
    try {
      const r0 = await store.currentRevision();
      faults.logKey = '/io/poison';
      const before = store.create('/io/before', '1');
      const poison = store.create('/io/poison', '2');
      const after = store.create('/io/after', '3');
      await expectStoreError(poison, 'Unavailable');
      await expectStoreError(before, 'Unavailable');
      assert.equal((await after).modRevision, r0 + 1, 'the next write starts a new batch');
      assert.deepEqual((await store.list('/io/')).items.map((kv) => kv.key), ['/io/after']);
    } finally {
      await store.close();
      await f.cleanup();
    }
  });

  it('close() with a pending batch commits it; events reach watchers before Unavailable', async () => {
    const f = await tempStore();
    try {
      const r0 = await f.store.currentRevision();
      const collector = new WatchCollector();
      f.store.watch('/c/', r0, collector);
      const writes = Array.from({ length: 3 }, (_, i) => f.store.create(`/c/k${i}`, `v${i}`));
      await f.store.close();
      assert.deepEqual((await Promise.all(writes)).map((kv) => kv.modRevision), [r0 + 1, r0 + 2, r0 + 3]);
      assert.equal((await collector.waitForError()).code, 'Unavailable');
      assert.equal(collector.events.length, 3, 'the events came first');
      await expectStoreError(f.store.create('/c/late', 'x'), 'Unavailable');
      assert.ok(!existsSync(`${f.path}-wal`) || statSync(`${f.path}-wal`).size === 0, 'close leaves an empty WAL');

      const store = await f.reopen();
      assert.equal(await store.currentRevision(), r0 + 3);
      assert.equal(await store.count('/c/'), 3);
    } finally {
      await f.cleanup();
    }
  });
});

describe('sqlite store: checkpoints', () => {
  // The store's checkpoint timer is mocked: it fires only when a test ticks it.
  const withMockedTimer = async (body: (f: Awaited<ReturnType<typeof tempStore>>) => Promise<void>) => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const f = await tempStore();
      try {
        await body(f);
      } finally {
        await f.cleanup();
      }
    } finally {
      mock.timers.reset();
    }
  };
  const value = 'x'.repeat(8 * 1024);
  const write = async (store: Store, prefix: string, n: number) => {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => store.create(`${prefix}${i + j}`, value)));
    }
  };

  it('are not run by commits but by the timer', () => withMockedTimer(async (f) => {
    await write(f.store, '/t/', 100); // ~2 MB of WAL
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(statSync(f.path).size < 1024 * 1024, 'the data is still in the WAL only');
    mock.timers.tick(1000);
    await eventually("the timer's checkpoint", () => statSync(f.path).size > 1024 * 1024);
  }));

  it('start early once the WAL passes 8 MB', () => withMockedTimer(async (f) => {
    await write(f.store, '/t/', 800); // ~16 MB of WAL
    await eventually('a checkpoint', () => statSync(f.path).size > 4 * 1024 * 1024);
    assert.equal(await f.store.count('/t/'), 800);
  }));
});

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

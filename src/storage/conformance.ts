/**
 * The Store conformance suite: the rules of `store.ts`, as node:test tests that every backend
 * must pass. A backend's test file calls `storeConformance` with a function that opens a fresh,
 * empty store. Tests never assume the revision starts at 0 (an etcd shared by several tests
 * has one revision counter) and never measure wall-clock time; waits have bounded timeouts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KeyValue, type Store, type StoreErrorCode, type WatchEvent, type WatchHandler, StoreError } from './store.js';

export interface ConformanceFixture {
  store: Store;
  /**
   * Closes `store` if it is still open, restarts the backend the way a process restart would
   * (same file, same etcd data directory) and opens the same data again.
   */
  reopen(): Promise<Store>;
  /** Another independent Store on the same data, as a second API server would have. */
  openPeer?(): Promise<Store>;
  /** Closes every store it opened and removes what it created. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** The backend can be shared by several Store instances (etcd): run the two-instance tests. */
  peers?: boolean;
}

const WAIT_MS = 20_000;

/** A WatchHandler that records what it is given and lets a test wait for it. */
export class WatchCollector implements WatchHandler {
  readonly events: WatchEvent[] = [];
  error?: StoreError;
  errors = 0;
  private wake?: () => void;

  onEvent(event: WatchEvent): void {
    assert.equal(this.error, undefined, 'onEvent after onError');
    this.events.push(event);
    this.wake?.();
  }

  onError(err: StoreError): void {
    this.errors++;
    this.error = err;
    this.wake?.();
  }

  /** Resolves when `done()` holds; fails after a bounded time, saying what was awaited. */
  async until(done: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.events.length} events` +
          (this.error ? `, error ${this.error.code}: ${this.error.message}` : '')));
      }, timeoutMs);
      this.wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Waits for `n` events in total; an error before then fails the wait. */
  async waitForEvents(n: number): Promise<WatchEvent[]> {
    await this.until(() => this.events.length >= n || this.error !== undefined, `${n} events`);
    if (this.error) assert.fail(`watch failed after ${this.events.length} of ${n} events: ${this.error.message}`);
    return this.events;
  }

  /** Waits for an event on `key` (a write used as a barrier: everything before it has arrived). */
  async waitForKey(key: string): Promise<WatchEvent[]> {
    await this.until(() => this.events.some((e) => e.kv.key === key) || this.error !== undefined, `an event for ${key}`);
    if (this.error) assert.fail(`watch failed before the event for ${key}: ${this.error.message}`);
    return this.events;
  }

  async waitForError(): Promise<StoreError> {
    await this.until(() => this.error !== undefined, 'an error');
    return this.error!;
  }
}

export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected StoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected StoreError ${code}, but the call succeeded`);
}

/** Lets other macrotasks run (watch replay, gRPC I/O) so "concurrent" really interleaves. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const keysOf = (items: KeyValue[]) => items.map((kv) => kv.key);

export function storeConformance(
  name: string,
  open: () => Promise<ConformanceFixture>,
  options: ConformanceOptions = {},
): void {
  const test = (title: string, body: (f: ConformanceFixture) => Promise<void>) =>
    it(title, async () => {
      const fixture = await open();
      try {
        await body(fixture);
      } finally {
        await fixture.cleanup();
      }
    });

  describe(`Store conformance: ${name}`, () => {
    test('create, get, update and delete, with their errors', async ({ store }) => {
      const k = '/registry/pods/default/nginx';
      assert.equal(await store.get(k), undefined);
      const r0 = await store.currentRevision();
      assert.ok(r0 >= 1, 'like etcd, even an empty store is at revision 1 or later (resourceVersion 0 means "any")');

      const created = await store.create(k, '{"v":1}');
      assert.deepEqual(created, { key: k, value: '{"v":1}', createRevision: r0 + 1, modRevision: r0 + 1 });
      assert.deepEqual(await store.get(k), created);
      await expectStoreError(store.create(k, '{"v":"again"}'), 'AlreadyExists');

      const updated = await store.update(k, '{"v":2}', created.modRevision);
      assert.deepEqual(updated, { key: k, value: '{"v":2}', createRevision: r0 + 1, modRevision: r0 + 2 });
      assert.deepEqual(await store.get(k), updated);

      const conflict = await expectStoreError(store.update(k, '{"v":3}', created.modRevision), 'Conflict');
      assert.deepEqual(conflict.current, updated, 'Conflict carries the current value');
      const delConflict = await expectStoreError(store.delete(k, created.modRevision), 'Conflict');
      assert.deepEqual(delConflict.current, updated);

      await expectStoreError(store.update('/registry/pods/default/missing', '{}', 1), 'NotFound');
      await expectStoreError(store.update('/registry/pods/default/missing', '{}', 0), 'NotFound');
      await expectStoreError(store.delete('/registry/pods/default/missing'), 'NotFound');
      await expectStoreError(store.delete('/registry/pods/default/missing', 1), 'NotFound');

      const deleted = await store.delete(k, updated.modRevision);
      assert.deepEqual(deleted, { key: k, value: '{"v":2}', createRevision: r0 + 1, modRevision: r0 + 3 },
        'delete returns the deleted value at the revision of the deletion');
      assert.equal(await store.get(k), undefined);
      await expectStoreError(store.delete(k), 'NotFound');

      const recreated = await store.create(k, '{"v":4}');
      assert.equal(recreated.createRevision, r0 + 4, 'a re-created key gets a new createRevision');
      const deletedAnyway = await store.delete(k);
      assert.equal(deletedAnyway.modRevision, r0 + 5, 'delete without a revision is unconditional');
    });

    test('the revision moves by exactly one per successful write and not on failed ones', async ({ store }) => {
      const k = '/registry/configmaps/default/rev';
      let rev = await store.currentRevision();
      const expectRevision = async (expected: number, after: string) =>
        assert.equal(await store.currentRevision(), expected, `revision after ${after}`);

      const kv = await store.create(k, 'a');
      assert.equal(kv.modRevision, ++rev);
      await expectRevision(rev, 'create');
      await expectStoreError(store.create(k, 'b'), 'AlreadyExists');
      await expectRevision(rev, 'failed create');
      await expectStoreError(store.update(k, 'b', kv.modRevision - 1), 'Conflict');
      await expectRevision(rev, 'conflicting update');
      await expectStoreError(store.update(k + 'x', 'b', kv.modRevision), 'NotFound');
      await expectRevision(rev, 'update of a missing key');
      await expectStoreError(store.delete(k, kv.modRevision + 1), 'Conflict');
      await expectRevision(rev, 'conflicting delete');
      await expectStoreError(store.delete(k + 'x'), 'NotFound');
      await expectRevision(rev, 'delete of a missing key');
      assert.equal((await store.update(k, 'b', kv.modRevision)).modRevision, ++rev);
      assert.equal((await store.create(k + '2', 'c')).modRevision, ++rev);
      assert.equal((await store.delete(k)).modRevision, ++rev);
      await expectRevision(rev, 'three more writes');
      assert.equal((await store.list('/registry/configmaps/')).revision, rev, 'a latest list reads the current revision');
    });

    test('concurrent writers racing on one key: exactly one wins', async ({ store }) => {
      const k = '/registry/leases/kube-system/leader';
      const base = await store.create(k, 'v0');
      const updates = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.update(k, `v${i + 1}`, base.modRevision)));
      const won = updates.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one update wins');
      const winner = (won[0] as PromiseFulfilledResult<KeyValue>).value;
      assert.equal(winner.modRevision, base.modRevision + 1);
      assert.deepEqual(await store.get(k), winner);
      for (const r of updates) {
        if (r.status === 'fulfilled') continue;
        assert.ok(r.reason instanceof StoreError && r.reason.code === 'Conflict', `loser fails with Conflict: ${r.reason}`);
        assert.deepEqual(r.reason.current, winner, 'the Conflict carries the winning value');
      }
      assert.equal(await store.currentRevision(), base.modRevision + 1, 'losers do not move the revision');

      const k2 = '/registry/leases/kube-system/other';
      const creates = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.create(k2, `c${i}`)));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one create wins');
      for (const r of creates) {
        if (r.status === 'rejected') assert.equal((r.reason as StoreError).code, 'AlreadyExists');
      }

      const current = (await store.get(k2))!;
      const deletes = await Promise.allSettled(Array.from({ length: 20 }, () => store.delete(k2, current.modRevision)));
      assert.equal(deletes.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one delete wins');
      for (const r of deletes) {
        if (r.status === 'rejected') assert.equal((r.reason as StoreError).code, 'NotFound');
      }
      assert.equal(await store.currentRevision(), current.modRevision + 1);
    });

    test('values and keys round-trip unchanged', async ({ store }) => {
      const values = [
        '',
        '{"metadata":{"name":"ünïcødé ✓ 日本語 🚀"},"data":{"a\\nb":"tab\\there"}}',
        'x'.repeat(256 * 1024),
        JSON.stringify({ nested: Array.from({ length: 100 }, (_, i) => ({ i, s: `line\n${i}` })) }),
      ];
      for (const [i, value] of values.entries()) {
        const key = `/registry/configmaps/ns-${i}/name.with-dots_and-dashes`;
        await store.create(key, value);
        assert.equal((await store.get(key))?.value, value);
      }
      const listed = await store.list('/registry/configmaps/');
      assert.deepEqual(listed.items.map((kv) => kv.value), values);
    });

    test('list: prefix boundaries, byte order, limit, startAfter, more and remaining', async ({ store }) => {
      const inside = [
        '/registry/pods/default/a', '/registry/pods/default/b', '/registry/pods/default/B',
        '/registry/pods/default/a-1', '/registry/pods/default/a.1', '/registry/pods/kube-system/x',
      ];
      const outside = ['/registry/podsx/default/z', '/registry/pod', '/registry/pods', '/registry/poda/q'];
      for (const k of [...outside, ...inside].reverse()) await store.create(k, `value of ${k}`);
      const sorted = [...inside].sort();
      const prefix = '/registry/pods/';

      const all = await store.list(prefix);
      assert.deepEqual(keysOf(all.items), sorted, 'keys under the prefix, in byte order');
      assert.equal(all.more, false);
      assert.equal(all.remaining, 0);
      assert.equal(all.revision, await store.currentRevision());
      assert.deepEqual(all.items[0], await store.get(sorted[0]));
      assert.deepEqual(keysOf((await store.list(prefix, { limit: 0 })).items), sorted, 'limit 0 is no limit');
      assert.deepEqual(keysOf((await store.list(prefix, { limit: 6 })).items), sorted);
      assert.equal((await store.list(prefix, { limit: 6 })).more, false, 'a limit equal to the count leaves nothing');

      const page1 = await store.list(prefix, { limit: 4 });
      assert.deepEqual(keysOf(page1.items), sorted.slice(0, 4));
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 2);
      const page2 = await store.list(prefix, { limit: 4, startAfter: sorted[3], revision: page1.revision });
      assert.deepEqual(keysOf(page2.items), sorted.slice(4));
      assert.equal(page2.more, false);
      assert.equal(page2.remaining, 0);
      assert.equal(page2.revision, page1.revision);

      assert.deepEqual(keysOf((await store.list(prefix, { startAfter: '/registry/pods/default/a0' })).items),
        sorted.filter((k) => k > '/registry/pods/default/a0'), 'startAfter need not be an existing key');
      assert.deepEqual(keysOf((await store.list(prefix, { startAfter: '/registry/' })).items), sorted,
        'startAfter before the prefix changes nothing');
      assert.deepEqual((await store.list(prefix, { startAfter: '/registry/pods/zzz' })).items, []);
      const none = await store.list('/registry/services/');
      assert.deepEqual(none, { items: [], revision: all.revision, more: false, remaining: 0 });

      assert.equal(await store.count(prefix), 6);
      assert.equal(await store.count('/registry/pods/default/'), 5);
      assert.equal(await store.count('/registry/pods/default/a'), 3);
      assert.equal(await store.count('/registry/nothing/'), 0);
    });

    test('paged list at a pinned revision stays consistent while writes continue', async ({ store }) => {
      const prefix = '/registry/secrets/default/';
      const key = (i: number) => `${prefix}s-${String(i).padStart(3, '0')}`;
      for (let i = 0; i < 30; i++) await store.create(key(i), `v0-${i}`);
      const snapshot = await store.list(prefix);

      let writing = true;
      const writer = (async () => {
        for (let n = 1; writing; n++) {
          const i = (n * 7) % 30;
          const current = await store.get(key(i));
          if (n % 5 === 0 && current) await store.delete(key(i), current.modRevision);
          else if (current) await store.update(key(i), `v${n}-${i}`, current.modRevision);
          else await store.create(key(i), `v${n}-${i}`);
          if (n % 3 === 0) await store.create(`${key(i)}-new-${n}`, 'inserted between pages');
          await turn();
        }
      })();

      const pages: KeyValue[] = [];
      let page = await store.list(prefix, { limit: 4, revision: snapshot.revision });
      for (;;) {
        assert.equal(page.revision, snapshot.revision);
        assert.equal(page.remaining, snapshot.items.length - pages.length - page.items.length);
        pages.push(...page.items);
        if (!page.more) break;
        await turn();
        await turn();
        page = await store.list(prefix, { limit: 4, startAfter: page.items.at(-1)!.key, revision: page.revision });
      }
      writing = false;
      await writer;

      assert.ok((await store.currentRevision()) > snapshot.revision, 'writes happened during paging');
      assert.deepEqual(pages, snapshot.items, 'the pages together are the list at their revision');
      assert.deepEqual((await store.list(prefix, { revision: snapshot.revision })).items, snapshot.items);
    });

    test('list at a past revision; FutureRevision beyond the current one', async ({ store }) => {
      const p = '/registry/services/default/';
      const r0 = await store.currentRevision();
      const a1 = await store.create(p + 'a', 'a1');
      const a2 = await store.update(p + 'a', 'a2', a1.modRevision);
      const b1 = await store.create(p + 'b', 'b1');
      await store.delete(p + 'a', a2.modRevision);
      const c1 = await store.create(p + 'c', 'c1');
      const at = async (revision: number) => {
        const res = await store.list(p, { revision });
        assert.equal(res.revision, revision);
        return res.items;
      };
      assert.deepEqual(await at(r0 + 1), [a1]);
      assert.deepEqual(await at(r0 + 2), [a2]);
      assert.deepEqual(await at(r0 + 3), [a2, b1]);
      assert.deepEqual(await at(r0 + 4), [b1]);
      assert.deepEqual(await at(r0 + 5), [b1, c1]);
      const paged = await store.list(p, { revision: r0 + 3, limit: 1 });
      assert.deepEqual(paged, { items: [a2], revision: r0 + 3, more: true, remaining: 1 });
      assert.deepEqual(await store.list(p, { revision: r0 + 3, limit: 1, startAfter: p + 'a' }),
        { items: [b1], revision: r0 + 3, more: false, remaining: 0 });
      await expectStoreError(store.list(p, { revision: r0 + 6 }), 'FutureRevision');
      await expectStoreError(store.list(p, { revision: r0 + 1000 }), 'FutureRevision');
    });

    test('watch from an old revision: history, then live events, in order, none lost or duplicated', async ({ store }) => {
      const p = '/registry/events/default/';
      const r0 = await store.currentRevision();
      // Enough history that a backend replaying it in chunks crosses several chunks.
      const history = 2500;
      for (let i = 0; i < history; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => store.create(`${p}e-${i + j}`, `h${i + j}`)));
      }
      const collector = new WatchCollector();
      const watcher = store.watch(p, r0, collector);
      // Writes go on while the watcher replays, so it must switch from history to live mid-stream.
      for (let i = 0; i < 300; i++) {
        const k = `${p}e-${i}`;
        const kv = (await store.get(k))!;
        if (i % 10 === 9) await store.delete(k, kv.modRevision);
        else await store.update(k, `live-${i}`, kv.modRevision);
        if (i % 2 === 0) await turn();
      }
      const last = await store.currentRevision();
      const events = await collector.waitForEvents(last - r0);
      assert.deepEqual(events.map((e) => e.revision), Array.from({ length: last - r0 }, (_, i) => r0 + 1 + i),
        'every revision exactly once, in order');
      for (const e of events) assert.equal(e.kv.modRevision, e.revision);
      assert.equal(events[history].kv.value, 'live-0');
      assert.equal(events[history].prevKv?.value, 'h0');
      assert.equal(events[history + 9].type, 'delete');

      // Nothing extra may follow: the next event must be exactly the next write.
      const barrier = await store.create(`${p}barrier`, 'b');
      await collector.waitForKey(barrier.key);
      assert.equal(collector.events.length, last - r0 + 1);
      assert.equal(collector.events.at(-1)!.revision, barrier.modRevision);
      watcher.stop();
    });

    test('watch delivers only keys under its prefix', async ({ store }) => {
      const r0 = await store.currentRevision();
      const collector = new WatchCollector();
      const watcher = store.watch('/registry/pods/default/', r0, collector);
      await store.create('/registry/pods/default/a', '1');
      await store.create('/registry/pods/defaultx/b', '2');
      await store.create('/registry/pods/other/c', '3');
      await store.create('/registry/pods/default', '4');
      await store.create('/registry/services/default/d', '5');
      await store.create('/registry/pods/default/e', '6');
      const events = await collector.waitForKey('/registry/pods/default/e');
      assert.deepEqual(events.map((e) => e.kv.key), ['/registry/pods/default/a', '/registry/pods/default/e']);
      assert.deepEqual(events.map((e) => e.revision), [r0 + 1, r0 + 6]);
      watcher.stop();

      // The same filter applies while replaying history.
      const replay = new WatchCollector();
      const replayWatcher = store.watch('/registry/pods/', r0, replay);
      await store.create('/registry/pods/zz', '7');
      assert.deepEqual((await replay.waitForKey('/registry/pods/zz')).map((e) => e.kv.key), [
        '/registry/pods/default/a', '/registry/pods/defaultx/b', '/registry/pods/other/c',
        '/registry/pods/default', '/registry/pods/default/e', '/registry/pods/zz',
      ]);
      replayWatcher.stop();
    });

    test('watch events carry prevKv; delete events carry the deleted value', async ({ store }) => {
      const k = '/registry/deployments/default/web';
      const r0 = await store.currentRevision();
      const live = new WatchCollector();
      const liveWatcher = store.watch('/registry/deployments/', r0, live);
      const v1 = await store.create(k, 'v1');
      const v2 = await store.update(k, 'v2', v1.modRevision);
      const gone = await store.delete(k, v2.modRevision);
      const v3 = await store.create(k, 'v3');
      const expected: WatchEvent[] = [
        { type: 'put', kv: v1, revision: r0 + 1 },
        { type: 'put', kv: v2, prevKv: v1, revision: r0 + 2 },
        { type: 'delete', kv: gone, prevKv: v2, revision: r0 + 3 },
        { type: 'put', kv: v3, revision: r0 + 4 },
      ];
      assert.deepEqual(gone, { ...v2, modRevision: r0 + 3 });
      const normalize = (events: WatchEvent[]) => events.map((e) => (e.prevKv ? e : { type: e.type, kv: e.kv, revision: e.revision }));
      assert.deepEqual(normalize(await live.waitForEvents(4)), expected, 'live events');
      liveWatcher.stop();

      const replay = new WatchCollector();
      const replayWatcher = store.watch('/registry/deployments/', r0, replay);
      assert.deepEqual(normalize(await replay.waitForEvents(4)), expected, 'replayed events equal live ones');
      replayWatcher.stop();
    });

    test('a watch handler may call the store, while replaying and while live', async ({ store }) => {
      const source = '/registry/jobs/default/';
      const echo = '/registry/cronjobs/default/';
      const r0 = await store.currentRevision();
      for (let i = 0; i < 5; i++) await store.create(`${source}${i}`, `${i}`);
      const calls: Promise<unknown>[] = [];
      const collector = new WatchCollector();
      const record = collector.onEvent.bind(collector);
      collector.onEvent = (event) => {
        record(event);
        calls.push(store.get(event.kv.key), store.create(echo + event.kv.key.slice(source.length), event.kv.value));
      };
      const watcher = store.watch(source, r0, collector);
      await collector.waitForEvents(5);
      for (let i = 5; i < 10; i++) await store.create(`${source}${i}`, `${i}`);
      const events = await collector.waitForEvents(10);
      await Promise.all(calls);
      assert.deepEqual(events.map((e) => e.kv.key), Array.from({ length: 10 }, (_, i) => `${source}${i}`));
      assert.equal(await store.count(echo), 10);
      watcher.stop();
    });

    test('watch from the current revision sees only later writes; stop() ends delivery', async ({ store }) => {
      const p = '/registry/nodes/';
      await store.create(p + 'before', 'x');
      const now = await store.currentRevision();
      const first = new WatchCollector();
      const firstWatcher = store.watch(p, now, first);
      const a = await store.create(p + 'a', '1');
      assert.deepEqual((await first.waitForEvents(1)).map((e) => e.kv), [a]);
      firstWatcher.stop();
      firstWatcher.stop(); // stopping twice is harmless

      const second = new WatchCollector();
      const secondWatcher = store.watch(p, a.modRevision, second);
      const b = await store.create(p + 'b', '2');
      await second.waitForKey(b.key);
      await turn();
      assert.deepEqual(first.events.map((e) => e.kv.key), [a.key], 'no event after stop()');
      assert.equal(first.error, undefined, 'stop() is not an error');
      assert.deepEqual(second.events.map((e) => e.kv), [b]);
      secondWatcher.stop();
    });

    test('compaction: Compacted for reads and watches before the point, everything after intact', async ({ store }) => {
      const p = '/registry/replicasets/default/';
      const r0 = await store.currentRevision();
      const a1 = await store.create(p + 'a', 'a1'); // r0+1
      const a2 = await store.update(p + 'a', 'a2', a1.modRevision); // r0+2
      const c1 = await store.create(p + 'c', 'c1'); // r0+3
      await store.delete(p + 'c', c1.modRevision); // r0+4
      const b1 = await store.create(p + 'b', 'b1'); // r0+5, the compaction point
      const point = b1.modRevision;

      const liveBefore = new WatchCollector();
      const liveWatcher = store.watch(p, await store.currentRevision(), liveBefore);
      await store.compact(point);
      const b2 = await store.update(p + 'b', 'b2', b1.modRevision); // r0+6
      const a3 = await store.update(p + 'a', 'a3', a2.modRevision); // r0+7

      await expectStoreError(store.list(p, { revision: point - 1 }), 'Compacted');
      await expectStoreError(store.list(p, { revision: r0 + 1 }), 'Compacted');
      assert.deepEqual((await store.list(p, { revision: point })).items, [a2, b1], 'the point itself is still readable');
      assert.deepEqual((await store.list(p, { revision: point + 1 })).items, [a2, b2]);
      assert.deepEqual((await store.list(p)).items, [a3, b2]);
      assert.deepEqual(await store.get(p + 'a'), a3);
      assert.equal(await store.count(p), 2);

      const tooOld = new WatchCollector();
      store.watch(p, point - 2, tooOld);
      assert.equal((await tooOld.waitForError()).code, 'Compacted');
      await turn();
      assert.equal(tooOld.events.length, 0, 'a compacted watch delivers nothing');
      assert.equal(tooOld.errors, 1, 'onError is called once');

      const fromPoint = new WatchCollector();
      const fromPointWatcher = store.watch(p, point - 1, fromPoint);
      const replayed = await fromPoint.waitForEvents(3);
      assert.deepEqual(replayed.map((e) => [e.revision, e.kv.value, e.prevKv?.value]),
        [[point, 'b1', undefined], [point + 1, 'b2', 'b1'], [point + 2, 'a3', 'a2']]);
      fromPointWatcher.stop();

      assert.deepEqual((await liveBefore.waitForEvents(2)).map((e) => e.kv), [b2, a3], 'live watches are unaffected');
      liveWatcher.stop();

      await store.compact(point - 1); // at or below the point: nothing to do
      await store.compact(point);
      await expectStoreError(store.compact((await store.currentRevision()) + 1), 'FutureRevision');
      assert.deepEqual((await store.list(p, { revision: point })).items, [a2, b1]);
      const next = await store.create(p + 'd', 'd1');
      assert.equal(next.modRevision, a3.modRevision + 1, 'compaction does not move the revision');
    });

    test('reopen (restart) keeps every key, the history and the compaction point; the revision continues', async (f) => {
      const p = '/registry/namespaces/';
      const r0 = await f.store.currentRevision();
      for (let i = 0; i < 20; i++) await f.store.create(`${p}ns-${i}`, `{"i":${i}}`);
      const k5 = (await f.store.get(`${p}ns-5`))!;
      await f.store.update(k5.key, '{"i":"five"}', k5.modRevision);
      await f.store.delete(`${p}ns-7`);
      await f.store.compact(r0 + 10);
      const before = await f.store.list(p);
      const pastBefore = await f.store.list(p, { revision: r0 + 15 });
      const revision = await f.store.currentRevision();
      assert.equal(revision, r0 + 22);

      await f.store.close();
      const store = await f.reopen();
      assert.equal(await store.currentRevision(), revision);
      assert.deepEqual(await store.list(p), before);
      assert.deepEqual(await store.list(p, { revision: r0 + 15 }), pastBefore);
      await expectStoreError(store.list(p, { revision: r0 + 9 }), 'Compacted');
      assert.equal((await store.get(`${p}ns-5`))?.value, '{"i":"five"}');
      assert.equal(await store.get(`${p}ns-7`), undefined);

      const replay = new WatchCollector();
      const watcher = store.watch(p, r0 + 19, replay);
      const next = await store.create(`${p}after-restart`, '{}');
      assert.equal(next.modRevision, revision + 1, 'the revision continues where it was');
      assert.deepEqual((await replay.waitForEvents(4)).map((e) => [e.type, e.revision]),
        [['put', r0 + 20], ['put', r0 + 21], ['delete', r0 + 22], ['put', revision + 1]]);
      watcher.stop();
      await store.close();
    });

    if (options.peers) {
      test('two store instances on one backend see each other\'s writes, through watch too', async (f) => {
        assert.ok(f.openPeer, 'the fixture must provide openPeer when peers is set');
        const a = f.store;
        const b = await f.openPeer();
        const p = '/registry/configmaps/shared/';
        const r0 = await a.currentRevision();
        const seenByA = new WatchCollector();
        const seenByB = new WatchCollector();
        const wa = a.watch(p, r0, seenByA);
        const wb = b.watch(p, r0, seenByB);
        const x = await a.create(p + 'x', 'from a');
        const y = await b.create(p + 'y', 'from b');
        const x2 = await b.update(p + 'x', 'b was here', x.modRevision);
        assert.deepEqual(await a.get(p + 'x'), x2);
        assert.equal(await b.currentRevision(), r0 + 3);
        const expected = [x, y, x2];
        assert.deepEqual((await seenByA.waitForEvents(3)).map((e) => e.kv), expected);
        assert.deepEqual((await seenByB.waitForEvents(3)).map((e) => e.kv), expected);

        const racers = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? a : b).update(p + 'y', `racer ${i}`, y.modRevision)));
        assert.equal(racers.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one of both instances wins');
        const seenAll = await seenByB.waitForEvents(4);
        assert.equal(seenAll.length, 4);
        wa.stop();
        wb.stop();
        await b.close();
      });
    }
  });
}

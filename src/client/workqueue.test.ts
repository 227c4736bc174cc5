import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from './workqueue.js';

/** The queue's timers are unref'd; hold the event loop open while a test waits on one. */
async function keepAlive<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}

describe('WorkQueue', () => {
  it('stores a key added while queued once', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
    q.done('a');
    q.done('b');
    q.shutDown();
  });

  it('re-queues a key added while being processed only after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    assert.equal(key, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not handed to a second worker while in process');
    q.done('a');
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  it('hands a key to a waiting get', async () => {
    const q = new WorkQueue<number>();
    const pending = q.get();
    q.add(7);
    assert.equal(await pending, 7);
    q.done(7);
    q.shutDown();
  });

  it('grows the per-key backoff exponentially, and forget resets it', () => {
    const delays: number[] = [];
    const q = new WorkQueue();
    // Observe the delays addRateLimited asks for without waiting on them.
    const addAfter = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      delays.push(ms);
      addAfter(key, ms);
    };
    for (let i = 0; i < 5; i++) q.addRateLimited('a');
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
    assert.equal(q.numRequeues('a'), 5);
    q.addRateLimited('b');
    assert.equal(delays.at(-1), 5, 'backoff is per key');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    assert.equal(delays.at(-1), 5);
    q.shutDown();
  });

  it('caps the backoff at 1000 s', () => {
    const q = new WorkQueue();
    let last = 0;
    const addAfter = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      last = ms;
      addAfter(key, ms);
    };
    for (let i = 0; i < 40; i++) q.addRateLimited('a');
    assert.equal(last, 1_000_000);
    q.shutDown();
  });

  it('adds a rate-limited key once its delay passes', async () => {
    const q = new WorkQueue();
    q.addRateLimited('a');
    assert.equal(q.len(), 0);
    assert.equal(await keepAlive(q.get()), 'a');
    q.done('a');
    q.shutDown();
  });

  it('addAfter keeps the earliest pending time for a key', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 1_000_000);
    q.addAfter('a', 1);
    assert.equal(await keepAlive(q.get()), 'a');
    q.done('a');
    q.shutDown();
  });

  it('resolves get with undefined after shutDown and ignores later adds', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.addAfter('later', 1_000_000);
    q.shutDown();
    assert.equal(await pending, undefined);
    q.add('a');
    assert.equal(q.len(), 0);
    assert.equal(await q.get(), undefined);
    assert.equal(q.isShuttingDown(), true);
  });

  it('is idle only when nothing is queued, delayed or being processed', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 4 });
    assert.ok(q.isIdle());
    q.addRateLimited('a');
    assert.ok(!q.isIdle(), 'a delayed key is pending work');
    assert.equal(await keepAlive(q.get()), 'a');
    assert.ok(!q.isIdle(), 'a key being processed is work');
    q.done('a');
    assert.ok(q.isIdle());
  });
});

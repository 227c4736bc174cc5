import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from './queue.js';

describe('work queue', () => {
  it('holds a waiting key once and hands keys out in arrival order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    q.done('a');
    q.done('b');
    assert.ok(q.idle);
  });

  it('never hands out a key being processed; a re-add waits for done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    assert.equal(q.length, 0, 'not handed out while processing');
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.ok(q.idle);
  });

  it('retries with backoff and wakes waiting workers; shutDown releases them', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 4 });
    const waiting = q.get();
    q.addRateLimited('a');
    assert.ok(!q.idle, 'a delayed key is pending work');
    assert.equal(await waiting, 'a');
    q.done('a');
    q.forget('a');
    const released = q.get();
    q.shutDown();
    assert.equal(await released, undefined);
    q.add('b');
    assert.equal(await q.get(), undefined);
  });
});
